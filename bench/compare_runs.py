#!/usr/bin/python3
"""compare_runs.py DIR RUNS -- per-config training and evaluation images/s of
ours and the twin over RUNS pairs (DIR/ours{i}.jsonl, DIR/twin{i}.jsonl), each
pair's ratio, and the median ratio."""
import json
import statistics
import sys


def records(path):
    for line in open(path):
        if line.startswith("{"):
            yield json.loads(line)


d, runs = sys.argv[1], int(sys.argv[2])
table = {}  # config -> list of (ours, twin) records, one per pair
for i in range(1, runs + 1):
    twin = {}
    for r in records("%s/twin%d.jsonl" % (d, i)):
        c = r["config"]
        twin[(c["nr_resnet"], c["nr_filters"], c["nr_mix"])] = r
    for o in records("%s/ours%d.jsonl" % (d, i)):
        k = tuple(o["config"])
        if k in twin:
            table.setdefault(k, []).append((o, twin[k]))
print("%d pairs (ours, then the twin); img/s as ours/twin per pair; ratio = "
      "median of the pairs' ratios" % runs)
print()
print("| config (R,F,M) | train img/s, each pair | train ratio (median) "
      "| eval img/s, each pair | eval ratio (median) |")
print("|---|---|---|---|---|")
for k, pairs in table.items():
    cells = []
    for key in ("train_img_s", "eval_img_s"):
        each = ", ".join("%.2f/%.2f" % (o[key], t[key]) for o, t in pairs)
        ratios = [o[key] / t[key] for o, t in pairs]
        cells += [each, "%.2fx (%s)" % (statistics.median(ratios),
                                        ", ".join("%.2f" % r for r in ratios))]
    print("| %s | %s |" % (",".join(map(str, k)), " | ".join(cells)))
