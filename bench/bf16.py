"""bench/bf16.py DIR RUNS -- the tables of bench/bf16.sh: per config, each
pair's f32 and bf16 figure and the median of the pairs' speed-ups (bf16
over f32: images/s ratio, or time ratio f32/bf16 for sampling)."""
import json
import statistics
import sys


def lines(path):
    with open(path) as f:
        return {tuple(r["config"]): r for r in
                (json.loads(l) for l in f if l.startswith("{"))}


def table(d, runs, kind, fields):
    print("| config | what | f32, bf16 each pair | bf16 speed-up (median) |")
    print("|---|---|---|---|")
    pairs = [(lines("%s/%s-f32-%d.jsonl" % (d, kind, i)),
              lines("%s/%s-bf16-%d.jsonl" % (d, kind, i)))
             for i in range(1, runs + 1)]
    if not pairs[0][0]:
        return
    for cfg in sorted(pairs[0][0]):
        for name, key, faster in fields:
            fig = [(a[cfg][key], b[cfg][key]) for a, b in pairs]
            up = [(y / x if faster == "up" else x / y) for x, y in fig]
            print("| %s | %s | %s | %.2fx (%s) |" % (
                ",".join(map(str, cfg)), name,
                ", ".join("%g/%g" % p for p in fig),
                statistics.median(up), ", ".join("%.2f" % u for u in up)))


def main():
    d, runs = sys.argv[1], int(sys.argv[2])
    table(d, runs, "models", [("train img/s", "train_img_s", "up"),
                              ("eval img/s", "eval_img_s", "up")])
    print()
    table(d, runs, "sampling", [("cached s", "sample_cached_s", "down"),
                                ("naive s (extrap.)", "sample_naive_s",
                                 "down")])


main()
