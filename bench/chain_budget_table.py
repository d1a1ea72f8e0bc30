#!/usr/bin/python3
"""chain_budget_table.py -- the table of bench/chain_budget.sh: per method,
its stages' steps, and the test and exact held-out bits/dim (the sum of
the stages, an upper bound on -log2 p(x), and the tightened figure where
the chain has one).

    /usr/bin/python3 bench/chain_budget_table.py OUT [METHOD ...]
"""
import glob
import json
import os
import re
import sys


def steps(stage_dir):
    last = None
    path = os.path.join(stage_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if "bpd" in r:
                last = r
    return last["step"] if last else None


def figures(text):
    """[(sum, se, tightened or None)] per evaluation in the file."""
    out = []
    for block in text.split("\n\n"):
        m = re.search(r"^bits/dim: ([0-9.]+) \+- ([0-9.]+)", block, re.M)
        if not m:
            continue
        t = re.search(r"^tightened bits/dim: ([0-9.]+)", block, re.M)
        out.append((float(m.group(1)), float(m.group(2)),
                    float(t.group(1)) if t else None))
    return out


def cell(f):
    if f is None:
        return "-"
    s = "%.4f +- %.4f" % (f[0], f[1])
    return s + (" (tightened %.4f)" % f[2] if f[2] is not None else "")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: chain_budget_table.py OUT [METHOD ...]")
    out = sys.argv[1]
    methods = sys.argv[2:] or sorted(
        os.path.basename(p) for p in glob.glob(os.path.join(out, "*"))
        if os.path.isdir(p))
    print("| model | steps per stage | test bits/dim | exact held-out "
          "bits/dim |")
    print("|---|---|---|---|")
    for m in methods:
        d = os.path.join(out, m)
        st = []
        k = 0
        while os.path.isdir(os.path.join(d, "s%d" % k)):
            st.append(steps(os.path.join(d, "s%d" % k)))
            k += 1
        ev = os.path.join(d, "eval.txt")
        f = figures(open(ev).read()) if os.path.exists(ev) else []
        print("| %s | %s | %s | %s |" % (
            m, ", ".join("-" if s is None else str(s) for s in st),
            cell(f[0] if len(f) > 0 else None),
            cell(f[1] if len(f) > 1 else None)))


if __name__ == "__main__":
    main()
