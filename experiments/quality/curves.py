#!/usr/bin/python3
"""curves.py -- per-step training curves of several runs side by side.

    /usr/bin/python3 experiments/quality/curves.py NAME=FILE ... \
        [--window 50] [--csv OUT.csv] [--upto N]

FILE is a `pixelcnn train` metrics.jsonl (logged every step) or a CSV of
twin/lean_train.py (step,bpd,...). Prints a markdown table of the mean
training bits/dim over each window of steps (k - window, k], the runs as
columns, and the gap of each run to the first one over all the common
steps; --csv writes the per-step bits/dim of every run (one column each).
"""
import argparse
import json


def read_curve(path):
    out = {}
    with open(path) as f:
        if path.endswith(".jsonl"):
            for line in f:
                r = json.loads(line)
                out[int(r["step"])] = float(r["bpd"])
        else:
            next(f)
            for line in f:
                s = line.split(",")
                out[int(s[0])] = float(s[1])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", metavar="NAME=FILE")
    ap.add_argument("--window", type=int, default=50)
    ap.add_argument("--upto", type=int, default=0)
    ap.add_argument("--csv")
    a = ap.parse_args()
    names, curves = [], []
    for r in a.runs:
        n, p = r.split("=", 1)
        names.append(n)
        curves.append(read_curve(p))
    last = min(max(c) for c in curves)
    if a.upto:
        last = min(last, a.upto)
    w = a.window
    print("| steps | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for k in range(w, last + 1, w):
        cells = []
        for c in curves:
            xs = [c[s] for s in range(k - w + 1, k + 1) if s in c]
            cells.append("%.3f" % (sum(xs) / len(xs)) if xs else "-")
        print("| %d-%d | %s |" % (k - w + 1, k, " | ".join(cells)))
    common = [s for s in range(1, last + 1) if all(s in c for c in curves)]
    if common:
        ref = sum(curves[0][s] for s in common) / len(common)
        print("| mean 1-%d | %s |" % (last, " | ".join(
            "%.3f (%+.3f)" % (m, m - ref) for m in
            (sum(c[s] for s in common) / len(common) for c in curves))))
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("step," + ",".join(names) + "\n")
            for s in range(1, last + 1):
                f.write("%d,%s\n" % (s, ",".join(
                    "%.5f" % c[s] if s in c else "" for c in curves)))


if __name__ == "__main__":
    main()
