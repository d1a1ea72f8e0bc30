#!/usr/bin/python3
"""plot_hours.py -- training bits/dim of the shipped models against wall-clock
hours, as one SVG (no plotting library needed).

    /usr/bin/python3 scripts/plot_hours.py [-o results/hours.svg]

Reads each run's metrics.jsonl under results/ (what `pixelcnn train`
appends: one line per logged step with "bpd" and "time_s", and "test_bpd"
lines). time_s restarts at 0 with every resumed run; the hours here add the
runs up, so pauses between runs are not counted. Each curve is the training
bits/dim per dim of the stage's own view, a moving mean over 25 logged
steps; a dot is a test figure the run logged. Stages of a chain trained side
by side, so a chain's wall-clock is its longest stage, not their sum.
"""
import argparse
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (label, file under results/, colour)
CURVES = [
    ("plain PixelCNN++, CIFAR", "cifar10-jpeg-q75/metrics.jsonl", "#1f4e9c"),
    ("gray chain: gray4(x)", "cifar10-gray-chain/metrics_stage0.jsonl",
     "#7f7f7f"),
    ("gray chain: x | gray4(x)", "cifar10-gray-chain/metrics_stage1.jsonl",
     "#3c3c3c"),
    ("pyramid, CIFAR: 8x8", "cifar10-pyramid/metrics-s0.jsonl", "#f2a541"),
    ("pyramid, CIFAR: 16 | 8", "cifar10-pyramid/metrics-s1.jsonl", "#e07b00"),
    ("pyramid, CIFAR: 32 | 16", "cifar10-pyramid/metrics-s2.jsonl",
     "#a35400"),
    ("colorizer: ab | L", "colorize/metrics.jsonl", "#2ca02c"),
    ("faces pyramid: 8x8", "faces-pyramid/metrics-s0.jsonl", "#f4a6c6"),
    ("faces pyramid: 16 | 8", "faces-pyramid/metrics-s1.jsonl", "#e377c2"),
    ("faces pyramid: 32 | 16", "faces-pyramid/metrics-s2.jsonl", "#b5418f"),
    ("faces pyramid: 64 | 32", "faces-pyramid/metrics-s3.jsonl", "#7a1f5c"),
    ("faces pyramid: 128 | 64", "faces-pyramid/metrics-s4.jsonl", "#4a0a36"),
    ("Fashion-MNIST, small", "fashion-mnist-small/metrics.jsonl", "#17becf"),
]


def read_run(path):
    """(hours, bpd) of the training lines, (hours, test_bpd) of the tests."""
    train, test = [], []
    offset, last = 0.0, 0.0
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if "time_s" in r:
                if r["time_s"] < last:  # a resumed run starts again at 0
                    offset += last
                last = r["time_s"]
                train.append(((offset + last) / 3600, r["bpd"]))
            elif "test_bpd" in r:
                test.append(((offset + last) / 3600, r["test_bpd"]))
    return train, test


def smooth(points, k=25):
    out, acc = [], []
    for x, y in points:
        acc.append(y)
        if len(acc) > k:
            acc.pop(0)
        out.append((x, sum(acc) / len(acc)))
    return out


def svg(curves, out):
    W, H, L, R, T, B = 900, 520, 60, 230, 20, 45
    xmax = max(p[0] for c in curves for p in c[2] + c[3])
    xmax = max(1.0, float(int(xmax + 0.999)))
    ymin, ymax = 1.0, 6.5
    sx = lambda x: L + (W - L - R) * x / xmax
    sy = lambda y: T + (H - T - B) * (ymax - min(max(y, ymin), ymax)) / (
        ymax - ymin)
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" '
         f'height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>']
    for i in range(int(xmax) + 1):
        s.append(f'<line x1="{sx(i):.1f}" y1="{T}" x2="{sx(i):.1f}" '
                 f'y2="{H - B}" stroke="#ddd"/>')
        s.append(f'<text x="{sx(i):.1f}" y="{H - B + 16}" '
                 f'text-anchor="middle">{i}</text>')
    y = ymin
    while y <= ymax + 1e-9:
        s.append(f'<line x1="{L}" y1="{sy(y):.1f}" x2="{W - R}" '
                 f'y2="{sy(y):.1f}" stroke="#ddd"/>')
        s.append(f'<text x="{L - 6}" y="{sy(y) + 4:.1f}" '
                 f'text-anchor="end">{y:.1f}</text>')
        y += 0.5
    s.append(f'<text x="{(L + W - R) / 2}" y="{H - 8}" text-anchor="middle">'
             'wall-clock hours of training (runs added up)</text>')
    s.append(f'<text x="14" y="{(T + H - B) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 14 {(T + H - B) / 2})">training '
             'bits/dim (per dim of the stage)</text>')
    for k, (label, colour, train, test) in enumerate(curves):
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in smooth(train))
        s.append(f'<polyline fill="none" stroke="{colour}" '
                 f'stroke-width="1.5" points="{pts}"/>')
        for x, y in test:
            s.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" '
                     f'fill="{colour}"/>')
        ly = T + 14 + 17 * k
        s.append(f'<line x1="{W - R + 12}" y1="{ly - 4}" x2="{W - R + 32}" '
                 f'y2="{ly - 4}" stroke="{colour}" stroke-width="3"/>')
        s.append(f'<text x="{W - R + 38}" y="{ly}">{label}</text>')
    s.append('</svg>')
    with open(out, "w") as f:
        f.write("\n".join(s) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", default=os.path.join(ROOT, "results", "hours.svg"))
    a = ap.parse_args()
    curves = []
    for label, rel, colour in CURVES:
        path = os.path.join(ROOT, "results", rel)
        if not os.path.exists(path):
            continue
        train, test = read_run(path)
        if train:
            curves.append((label, colour, train, test))
            last = smooth(train)[-1]
            print(f"{label}: {train[-1][0]:.2f} h, training bits/dim "
                  f"{last[1]:.4f} (mean of the last 25 logged steps)")
    svg(curves, a.o)
    print(f"wrote {a.o}")


if __name__ == "__main__":
    main()
