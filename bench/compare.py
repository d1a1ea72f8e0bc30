#!/usr/bin/python3
"""compare.py OURS.jsonl TWIN.jsonl [SAMPLING.jsonl] -- the tables of ours
vs the twin: training and evaluation, then sampling."""
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

if len(sys.argv) > 3:
    print()
    print("| config (R,F,M) | cached s ours | naive s ours (extrap.) | naive s "
          "twin (extrap.) | twin naive / ours cached | peak MB ours cached |")
    print("|---|---|---|---|---|---|")
    for r in records(sys.argv[3]):
        k = tuple(r["config"])
        t = twin.get(k, {})
        tn = t.get("naive_sampling_total_s")
        print("| %s | %.2f | %.1f | %s | %s | %.0f |"
              % (",".join(map(str, k)), r["sample_cached_s"],
                 r["sample_naive_s"], "%.1f" % tn if tn else "-",
                 "%.0fx" % (tn / r["sample_cached_s"]) if tn else "-",
                 r["sample_peak_rss_mb"]))
