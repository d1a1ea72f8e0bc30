#!/usr/bin/python3
"""quality_report.py -- the report of bench/quality.sh from its folder:
ours/metrics.jsonl and ours.txt (`pixelcnn train`), peer.csv and peer.json
(twin/lean_train.py). Prints the two per-step curves (mean training
bits/dim over windows of steps) side by side and the final
figures as a markdown table.

    /usr/bin/python3 bench/quality_report.py DIR [--window N]
"""
import argparse
import json
import os
import re


def ours_curve(d):
    steps = []
    with open(os.path.join(d, "ours", "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if "bpd" in r:  # (the last line: the test figures)
                steps.append((r["step"], r["bpd"], r["time_s"]))
    return steps


def peer_curve(d):
    steps = []
    with open(os.path.join(d, "peer.csv")) as f:
        next(f)
        for line in f:
            s = line.strip().split(",")
            steps.append((int(s[0]), float(s[1]), float(s[-1])))
    return steps


def window_means(curve, w):
    """{last step of window: mean bpd} over steps (k-1)w+1 .. kw."""
    out, acc = {}, []
    for step, bpd, _ in curve:
        acc.append(bpd)
        if step % w == 0:
            out[step] = sum(acc[-w:]) / len(acc[-w:])
    return out


def ours_test(d):
    with open(os.path.join(d, "ours.txt")) as f:
        m = re.search(r"test bits/dim: ([0-9.]+) \+- ([0-9.]+) \((\d+) "
                      r"images", f.read())
    return (float(m.group(1)), float(m.group(2)), int(m.group(3))) \
        if m else (None, None, None)


def fmt(x, spec="%.3f"):
    return "-" if x is None else spec % x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--window", type=int, default=0,
                    help="steps per window (default: 100, or a tenth of "
                         "the shorter run when that is under 1000 steps)")
    a = ap.parse_args()
    oc, pc = ours_curve(a.dir), peer_curve(a.dir)
    with open(os.path.join(a.dir, "peer.json")) as f:
        peer = json.loads(f.read().strip().splitlines()[-1])
    shorter = min(len(oc), len(pc))
    w = a.window or (100 if shorter >= 1000 else max(1, shorter // 10))
    om, pm = window_means(oc, w), window_means(pc, w)
    print("training bits/dim, mean over steps (k-%d, k]:" % w)
    print("| step k | ours | lean PyTorch |")
    print("|---:|---:|---:|")
    for k in sorted(set(om) | set(pm)):
        print("| %d | %s | %s |" % (k, fmt(om.get(k)), fmt(pm.get(k))))
    ot, ose, on = ours_test(a.dir)
    print()
    print("| | steps | train s/step | test bits/dim (EMA) |")
    print("|---|---:|---:|---|")
    for name, curve, t, se, n in (
            ("ours", oc, ot, ose, on),
            ("lean PyTorch", pc, peer.get("test_bpd_ema"),
             peer.get("test_bpd_se"), peer.get("test_images"))):
        last = curve[-1] if curve else (0, 0, 0)
        print("| %s | %d | %s | %s +- %s (%s images) |" % (
            name, last[0], fmt(last[2] / last[0] if last[0] else None),
            fmt(t, "%.4f"), fmt(se, "%.4f"), n))


if __name__ == "__main__":
    main()
