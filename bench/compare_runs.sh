#!/bin/sh
# bench/compare_runs.sh -- whole-model images/s, ours against the PyTorch
# twin, in RUNS alternating pairs (ours, then the twin), and the median of
# each config's per-pair ratio. On a shared, noisy machine one pair can be
# off by 2x either way; the median of several pairs is the figure to quote.
# TWIN=full compares with the reference twin (torch_net.py) instead of the
# lean one (torch_lean.py, the default); CONFIGS="1,32,5 2,64,5" limits
# the run to those configs (default: the four of bench --models).
# Usage: sh bench/compare_runs.sh BUILD_DIR [RUNS] [THREADS]
set -eu
build=${1:-build}
runs=${2:-3}
threads=${3:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "python3-torch not installed: no twin to compare with" >&2
    exit 1
fi
twin_cfg=""
for c in ${CONFIGS:-}; do
    twin_cfg="$twin_cfg --config $c"
done
i=1
while [ "$i" -le "$runs" ]; do
    echo "== pair $i of $runs: ours" >&2
    : > "$out/ours$i.jsonl"
    if [ -n "${CONFIGS:-}" ]; then
        for c in $CONFIGS; do
            "$build/pixelcnn" bench --models --threads "$threads" --reps 3 \
                --config "$c" >> "$out/ours$i.jsonl"
        done
    else
        "$build/pixelcnn" bench --models --threads "$threads" --reps 3 \
            > "$out/ours$i.jsonl"
    fi
    echo "== pair $i of $runs: the twin" >&2
    # shellcheck disable=SC2086
    /usr/bin/python3 twin/bench_twin.py --threads "$threads" \
        --twin "${TWIN:-lean}" $twin_cfg > "$out/twin$i.jsonl"
    i=$((i + 1))
done
/usr/bin/python3 bench/compare_runs.py "$out" "$runs"
