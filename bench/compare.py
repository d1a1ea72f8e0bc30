#!/usr/bin/python3
"""compare.py OURS.jsonl TWIN.jsonl -- the table of ours vs the twin."""
import json
import sys

def records(path):
    """The JSON lines of a file, skipping the human-readable ones."""
    for line in open(path):
        if line.startswith("{"):
            yield json.loads(line)


ours = {tuple(r["config"]): r for r in records(sys.argv[1])}
twin = {}
for r in records(sys.argv[2]):
    c = r["config"]
    twin[(c["nr_resnet"], c["nr_filters"], c["nr_mix"])] = r
print("| config (R,F,M) | train img/s ours | twin | ratio | eval img/s ours "
      "| twin | ratio | peak MB ours | twin |")
print("|---|---|---|---|---|---|---|---|---|")
for k, o in ours.items():
    t = twin.get(k)
    if not t:
        continue
    print("| %s | %.2f | %.2f | %.2fx | %.2f | %.2f | %.2fx | %.0f | %.0f |"
          % (",".join(map(str, k)), o["train_img_s"], t["train_img_s"],
             o["train_img_s"] / t["train_img_s"], o["eval_img_s"],
             t["eval_img_s"], o["eval_img_s"] / t["eval_img_s"],
             o["peak_rss_mb"], t["peak_rss_mb"]))
