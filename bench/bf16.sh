#!/bin/sh
# bench/bf16.sh -- bf16 against f32 compute (docs/speed.md): RUNS
# alternating pairs (f32, then bf16) of `pixelcnn bench --models` (training
# and evaluation images/s of the four configs) and `--sampling` (16 images,
# (1,32,5) and (5,160,10)); every figure of each pair, and the median of
# the pairs' bf16/f32 speed-ups. Then the conv table once each way. On a
# shared, noisy machine quote the medians. CONFIGS (R,F,M, space-separated;
# default all) picks the models; sampling runs those of them it knows,
# 1,32,5 and 5,160,10. CONVS=0 skips the conv table.
# Usage: sh bench/bf16.sh BUILD_DIR [RUNS] [THREADS] [CONFIGS]
set -eu
build=${1:-build}
runs=${2:-3}
threads=${3:-2}
configs=${4:-"1,32,5 2,64,5 3,96,10 5,160,10"}
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
        : > "$out/models-$c-$i.jsonl"
        : > "$out/sampling-$c-$i.jsonl"
        for k in $configs; do
            "$build/pixelcnn" bench --models --threads "$threads" --reps 3 \
                --config "$k" --compute "$c" >> "$out/models-$c-$i.jsonl"
            case $k in 1,32,5|5,160,10)
                "$build/pixelcnn" bench --sampling --threads "$threads" \
                    --config "$k" --compute "$c" \
                    >> "$out/sampling-$c-$i.jsonl" ;;
            esac
        done
    done
    i=$((i + 1))
done
/usr/bin/python3 bench/bf16.py "$out" "$runs"
[ "${CONVS:-1}" = 0 ] && exit 0
for c in f32 bf16; do
    echo
    echo "== convs, --compute $c"
    "$build/pixelcnn" bench --threads "$threads" --reps 5 --compute "$c"
done
