#!/bin/sh
# bench/quality_run.sh -- one run of the equal-budget comparison (issue 20):
# WHO trains MINUTES of wall-clock on CIFAR-10 (JPEG-q75 copy) batches in
# seed SEED's order, then its EMA weights are evaluated on the first
# TEST_LIMIT test images and the first EXACT_LIMIT exact held-out images.
# WHO is one of our recipes or the lean PyTorch peer:
#   wn-data        --param weightnorm --init data (PixelCNN++'s recipe)
#   wn-uniform     --param weightnorm --init uniform
#   plain-uniform  --param plain --init uniform
#   peer           twin/lean_train.py (plain convs, PyTorch's init)
# Everything lands in OUT/WHO-sSEED/; result.json there is the summary
# (bench/quality_table.py reads it). A run whose result.json exists is
# skipped, so an interrupted series resumes where it stopped.
# Usage: sh bench/quality_run.sh BUILD MINUTES THREADS CONFIG OUT WHO SEED
# Environment: DATA (default ../shared/data/cifar10), EXACT (default
# ../shared/data/cifar10-exact/data_batch_1_first4000.bin), TEST_LIMIT
# (2000), EXACT_LIMIT (2000).
set -eu
if [ $# -ne 7 ]; then
    echo "usage: sh bench/quality_run.sh BUILD MINUTES THREADS CONFIG OUT WHO SEED" >&2
    exit 2
fi
build=$1 minutes=$2 threads=$3 config=$4 out=$5 who=$6 seed=$7
. "$(dirname "$0")/args.sh"
bench_args bench/quality_run.sh "$minutes" "$threads" "$config"
case $seed in
'' | *[!0-9]*)
    echo "bench/quality_run.sh: SEED \"$seed\": expected an integer" >&2
    exit 2
    ;;
esac
data=${DATA:-../shared/data/cifar10}
exact=${EXACT:-../shared/data/cifar10-exact/data_batch_1_first4000.bin}
test_limit=${TEST_LIMIT:-2000}
exact_limit=${EXACT_LIMIT:-2000}
case $who in
wn-data) flags="--param weightnorm --init data" ;;
wn-uniform) flags="--param weightnorm --init uniform" ;;
plain-uniform) flags="--param plain --init uniform" ;;
peer) flags= ;;
*)
    echo "bench/quality_run.sh: WHO \"$who\": not wn-data, wn-uniform, plain-uniform or peer" >&2
    exit 2
    ;;
esac
for f in "$data/test_batch.bin" "$exact"; do
    if [ ! -f "$f" ]; then
        echo "bench/quality_run.sh: $f: no such file (set DATA / EXACT)" >&2
        exit 1
    fi
done
d=$out/$who-s$seed
if [ -f "$d/result.json" ]; then
    echo "== $who seed $seed: done before, kept ($d/result.json)" >&2
    exit 0
fi
rm -rf "$d"
mkdir -p "$d"
# The OpenMP wait policy is the caller's, as in bench/quality.sh.
echo "== $who seed $seed: $minutes min, ($R,$F,$M), $threads threads $(date -u +%H:%M:%S)" >&2
if [ "$who" = peer ]; then
    /usr/bin/python3 twin/lean_train.py --data "$data" --nr-resnet "$R" \
        --nr-filters "$F" --nr-mix "$M" --seed "$seed" \
        --minutes "$minutes" --threads "$threads" \
        --test-limit "$test_limit" --exact "$exact" \
        --exact-limit "$exact_limit" --csv "$d/train.csv" > "$d/peer.json"
    /usr/bin/python3 - "$d" "$who" "$seed" <<'EOPY'
import json, sys
d, who, seed = sys.argv[1:]
with open(d + "/peer.json") as f:
    r = json.loads(f.read().strip().splitlines()[-1])
out = {"who": who, "seed": int(seed), "steps": r["steps"],
       "seconds": r["seconds"], "test": r["test_bpd_ema"],
       "test_se": r["test_bpd_se"], "test_images": r["test_images"],
       "exact": r["exact_bpd_ema"], "exact_se": r["exact_bpd_se"],
       "exact_images": r["exact_images"]}
with open(d + "/result.json", "w") as f:
    f.write(json.dumps(out) + "\n")
EOPY
else
    # shellcheck disable=SC2086
    "$build/pixelcnn" train --data "cifar10:$data" --nr-resnet "$R" \
        --nr-filters "$F" --nr-mix "$M" --dropout 0 --seed "$seed" \
        --minutes "$minutes" --threads "$threads" --log-every 1 \
        --save-every 1000000 --no-test --out "$d/run" $flags \
        > "$d/train.txt"
    for set in test exact; do
        if [ $set = test ]; then
            src=cifar10:$data n=$test_limit
        else
            src=cifar10:$exact n=$exact_limit
        fi
        "$build/pixelcnn" eval --checkpoint "$d/run/checkpoint.safetensors" \
            --data "$src" --limit "$n" --threads "$threads" \
            > "$d/eval-$set.txt" 2>/dev/null
    done
    /usr/bin/python3 - "$d" "$who" "$seed" <<'EOPY'
import json, re, sys
d, who, seed = sys.argv[1:]
last = None
with open(d + "/run/metrics.jsonl") as f:
    for line in f:
        r = json.loads(line)
        if "bpd" in r:
            last = r
out = {"who": who, "seed": int(seed), "steps": last["step"],
       "seconds": last["time_s"]}
for s in ("test", "exact"):
    with open("%s/eval-%s.txt" % (d, s)) as f:
        text = f.read()
    m = re.search(r"([0-9.]+) \+- ([0-9.]+)", text)
    n = re.search(r"(\d+) images", text)
    out[s], out[s + "_se"] = float(m.group(1)), float(m.group(2))
    out[s + "_images"] = int(n.group(1)) if n else None
with open(d + "/result.json", "w") as f:
    f.write(json.dumps(out) + "\n")
EOPY
fi
# The machine goes with the result: a series resumed in a later session
# may run on another CPU, and a same-seed difference only means something
# between runs on one machine (bench/quality_table.py checks it).
/usr/bin/python3 - "$d/result.json" <<'EOPY'
import json, os, sys, time
p = sys.argv[1]
with open(p) as f:
    r = json.load(f)
cpu = "?"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
r.update(cpu=cpu, cores=os.cpu_count(),
         omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", "default"),
         openblas_coretype=os.environ.get("OPENBLAS_CORETYPE", "default"),
         finished=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
with open(p, "w") as f:
    f.write(json.dumps(r) + "\n")
EOPY
cat "$d/result.json" >&2
