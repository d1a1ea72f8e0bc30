#!/usr/bin/python3
"""quality_table.py -- the table of bench/quality_seeds.sh from its folder:
one row per trainer (WHO), over its seeds: steps, test and exact held-out
bits/dim (EMA weights) as the mean over seeds, the spread (the standard
deviation over seeds, and min..max), and the difference to the peer on the
same seed, taken only where both runs name the same CPU (result.json's
"cpu"; runs from before it was recorded count as one machine). Then one
line per run, with its machine.

    /usr/bin/python3 bench/quality_table.py DIR
"""
import glob
import json
import os
import statistics
import sys

ORDER = ["wn-data", "wn-uniform", "plain-uniform", "peer"]
NAMES = {"wn-data": "ours, weight norm + data init (PixelCNN++)",
         "wn-uniform": "ours, weight norm + uniform init",
         "plain-uniform": "ours, plain + uniform init",
         "peer": "lean PyTorch peer"}


def cell(xs):
    if not xs:
        return "-"
    m = statistics.mean(xs)
    if len(xs) == 1:
        return "%.4f" % m
    return "%.4f +- %.4f (%.4f..%.4f)" % (m, statistics.stdev(xs), min(xs),
                                          max(xs))


def same_machine(a, b):
    return b is not None and a.get("cpu") == b.get("cpu")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: quality_table.py DIR")
    d = sys.argv[1]
    runs = {}
    for p in sorted(glob.glob(os.path.join(d, "*-s*", "result.json"))):
        with open(p) as f:
            r = json.load(f)
        runs.setdefault(r["who"], []).append(r)
    if not runs:
        sys.exit("quality_table.py: %s: no finished runs" % d)
    series = {}
    if os.path.exists(os.path.join(d, "series.json")):
        with open(os.path.join(d, "series.json")) as f:
            series = json.load(f)
    peer = runs.get("peer", [])
    pt = {r["seed"]: r for r in peer}
    print("%s min a run, config (%s), %s threads; bits/dim of the EMA "
          "weights; +- is the standard deviation over seeds" %
          (series.get("minutes", "?"), series.get("config", "?"),
           series.get("threads", "?")))
    print()
    print("| trainer | seeds | steps | test | exact held-out | "
          "test - peer (same seed) | exact - peer (same seed) |")
    print("|---|---:|---:|---|---|---|---|")
    for who in sorted(runs, key=lambda w: ORDER.index(w)
                      if w in ORDER else 99):
        rs = sorted(runs[who], key=lambda r: r["seed"])
        diff = {k: [r[k] - pt[r["seed"]][k] for r in rs
                    if who != "peer" and same_machine(r, pt.get(r["seed"]))]
                for k in ("test", "exact")}
        print("| %s | %s | %d | %s | %s | %s | %s |" % (
            NAMES.get(who, who), ",".join(str(r["seed"]) for r in rs),
            round(statistics.mean(r["steps"] for r in rs)),
            cell([r["test"] for r in rs]), cell([r["exact"] for r in rs]),
            cell(diff["test"]), cell(diff["exact"])))
    n = {r["test_images"] for rs in runs.values() for r in rs}
    e = {r["exact_images"] for rs in runs.values() for r in rs}
    print()
    print("test: the first %s images of CIFAR-10 (JPEG-q75 copy) "
          "test_batch.bin; exact held-out: the first %s of "
          "cifar10-exact/data_batch_1_first4000.bin" %
          ("/".join(map(str, sorted(n))), "/".join(map(str, sorted(e)))))
    print()
    print("| run | steps | test | exact held-out | machine |")
    print("|---|---:|---|---|---|")
    for who in sorted(runs, key=lambda w: ORDER.index(w)
                      if w in ORDER else 99):
        for r in sorted(runs[who], key=lambda r: r["seed"]):
            print("| %s seed %d | %d | %.4f | %.4f | %s |" % (
                who, r["seed"], r["steps"], r["test"], r["exact"],
                "%s, %s cores, finished %s" % (
                    r["cpu"], r.get("cores", "?"), r.get("finished", "?"))
                if "cpu" in r else "not recorded"))


if __name__ == "__main__":
    main()
