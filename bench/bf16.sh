#!/bin/sh
# bench/bf16.sh -- bf16 against f32 compute (docs/speed.md): RUNS
# alternating pairs (f32, then bf16) of `pixelcnn bench --models` (training
# and evaluation images/s of the four configs) and `--sampling` (16 images,
# (1,32,5) and (5,160,10)); every figure of each pair, and the median of
# the pairs' bf16/f32 speed-ups. Then the conv table once each way. On a
# shared, noisy machine quote the medians.
# Usage: sh bench/bf16.sh BUILD_DIR [RUNS] [THREADS]
set -eu
build=${1:-build}
runs=${2:-3}
threads=${3:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! "$build/pixelcnn" bench --quick --reps 1 --threads 1 --compute bf16 \
    > /dev/null; then
    exit 1
fi
i=1
while [ "$i" -le "$runs" ]; do
    for c in f32 bf16; do
        echo "== pair $i of $runs: $c" >&2
        "$build/pixelcnn" bench --models --threads "$threads" --reps 3 \
            --compute "$c" > "$out/models-$c-$i.jsonl"
        "$build/pixelcnn" bench --sampling --threads "$threads" \
            --compute "$c" > "$out/sampling-$c-$i.jsonl"
    done
    i=$((i + 1))
done
/usr/bin/python3 bench/bf16.py "$out" "$runs"
for c in f32 bf16; do
    echo
    echo "== convs, --compute $c"
    "$build/pixelcnn" bench --threads "$threads" --reps 5 --compute "$c"
done
