#!/bin/sh
# bench/chain_budget.sh -- the equal-budget table of issue 19: a plain
# PixelCNN++ and the gray, pyramid and gray-pyramid chains, each given the
# same MINUTES of wall-clock on the same THREADS cores, on CIFAR-10
# (JPEG-q75 copy). A chain of S stages trains its stages one after the
# other, MINUTES/S each (`pixelcnn train --chain C --stage K`), and is
# joined with `pixelcnn chain`; every model is evaluated (EMA weights) on
# the test set and the exact held-out images and draws 16 samples.
# Every stage of every config is (R,F,M) of CONFIG; the pyramids' 8x8 models
# have 2 resolutions and their upper stages 1 with a conditioning network
# of one resnet, as the shipped chains (docs/results.md).
# A finished stage (OUT/METHOD/sK/done) is kept, so a series longer than
# one session resumes where it stopped (an unfinished stage restarts).
# Usage: sh bench/chain_budget.sh BUILD MINUTES THREADS CONFIG OUT "METHODS"
#   METHODS from: plain gray pyramid gray-pyramid
# Environment: DATA (../shared/data/cifar10), EXACT (the exact held-out
# file), TEST_LIMIT (10000), EXACT_LIMIT (4000), SEED (1).
set -eu
if [ $# -ne 6 ]; then
    echo "usage: sh bench/chain_budget.sh BUILD MINUTES THREADS CONFIG OUT \"METHODS\"" >&2
    exit 2
fi
build=$1 minutes=$2 threads=$3 config=${4:-1,48,5} out=$5 methods=$6
. "$(dirname "$0")/args.sh"
bench_args bench/chain_budget.sh "$minutes" "$threads" "$config"
data=${DATA:-../shared/data/cifar10}
exact=${EXACT:-../shared/data/cifar10-exact/data_batch_1_first4000.bin}
test_limit=${TEST_LIMIT:-10000}
exact_limit=${EXACT_LIMIT:-4000}
seed=${SEED:-1}
for f in "$data/test_batch.bin" "$exact"; do
    if [ ! -f "$f" ]; then
        echo "bench/chain_budget.sh: $f: no such file (set DATA / EXACT)" >&2
        exit 1
    fi
done
# the OpenMP wait policy of the caller's environment, by default the
# runtime's own, as a user runs it (docs/speed.md)
px=$build/pixelcnn

# the stage count and stage K's flags of METHOD
stages() {
    case $1 in
    plain) echo 1 ;;
    gray) echo 2 ;;
    pyramid) echo 3 ;;
    gray-pyramid) echo 4 ;;
    *)
        echo "bench/chain_budget.sh: method \"$1\": not plain, gray, pyramid or gray-pyramid" >&2
        exit 2
        ;;
    esac
}
stage_flags() { # METHOD K
    case $1 in
    plain) echo "" ;;
    gray) echo "--chain gray --stage $2" ;;
    pyramid | gray-pyramid)
        last=$(($(stages "$1") - 1))
        # the 8x8 models (the base, and gray-pyramid's 8x8 given its gray4)
        base=0
        [ "$1" = gray-pyramid ] && base=1
        if [ "$2" -eq 0 ]; then
            echo "--chain $1 --halvings 2 --stage 0 --nr-resolutions 2"
        elif [ "$2" -le $base ]; then
            echo "--chain $1 --halvings 2 --stage $2 --nr-resolutions 2 --cond-nr-resnet 1"
        elif [ "$2" -le $last ]; then
            echo "--chain $1 --halvings 2 --stage $2 --nr-resolutions 1 --cond-nr-resnet 1"
        fi
        ;;
    esac
}

for m in $methods; do
    S=$(stages "$m")
    per=$(awk "BEGIN { print $minutes / $S }")
    d=$out/$m
    mkdir -p "$d"
    k=0
    while [ $k -lt "$S" ]; do
        s=$d/s$k
        if [ -f "$s/done" ]; then
            echo "== $m stage $k: done before, kept" >&2
        else
            rm -rf "$s"
            echo "== $m stage $k of $S: $per min, ($R,$F,$M), $threads threads $(date -u +%H:%M:%S)" >&2
            # shellcheck disable=SC2046
            if ! "$px" train --data "cifar10:$data" --nr-resnet "$R" \
                --nr-filters "$F" --nr-mix "$M" --dropout 0 --seed "$seed" \
                --minutes "$per" --threads "$threads" --save-every 1000000 --log-every 1 \
                --no-test --out "$s" $(stage_flags "$m" $k) > "$s.txt" 2>&1; then
                tail -n 3 "$s.txt" >&2
                echo "bench/chain_budget.sh: $m stage $k failed ($s.txt)" >&2
                exit 1
            fi
            touch "$s/done"
        fi
        k=$((k + 1))
    done
    if [ ! -f "$d/eval.txt" ]; then
        if [ "$m" = plain ]; then
            model=$d/s0/checkpoint.safetensors
        else
            model=$d/chain.safetensors
            set --
            k=0
            while [ $k -lt "$S" ]; do
                "$px" export --checkpoint "$d/s$k/checkpoint.safetensors" \
                    --out "$d/s$k.safetensors" > /dev/null
                set -- "$@" "$d/s$k.safetensors"
                k=$((k + 1))
            done
            "$px" chain --out "$model" "$@" > /dev/null
        fi
        {
            "$px" eval --checkpoint "$model" --data "cifar10:$data" \
                --limit "$test_limit" --threads "$threads" 2>/dev/null
            echo
            "$px" eval --checkpoint "$model" --data "cifar10:$exact" \
                --limit "$exact_limit" --threads "$threads" 2>/dev/null
        } > "$d/eval.tmp"
        "$px" sample --checkpoint "$model" -n 16 --seed 1 \
            --threads "$threads" -o "$d/samples.png" > /dev/null 2>&1
        mv "$d/eval.tmp" "$d/eval.txt"
    fi
done
/usr/bin/python3 bench/chain_budget_table.py "$out" $methods
