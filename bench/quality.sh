#!/bin/sh
# bench/quality.sh -- learning per CPU-minute: `pixelcnn train` and the lean
# PyTorch peer (twin/lean_train.py) each train MINUTES of wall-clock, one
# after the other, on the same cores, the same CIFAR-10 batches in the same
# order and the same recipe (batch 16, Adam 0.95/0.9995, lr 1e-3 decaying
# 0.999995 a step, EMA, dropout 0); both are evaluated with their EMA
# weights on the same first TEST_LIMIT test images. Prints both per-step
# curves (training bits/dim, means over windows of steps) and the final
# figures (docs/training.md).
# Usage: sh bench/quality.sh BUILD_DIR MINUTES [THREADS] [CONFIG] [OUT]
#   CONFIG "R,F,M" (default 1,48,5); OUT: where the runs stay (default: a
#   temporary folder, removed). Environment: DATA (the CIFAR-10 folder,
#   default ../shared/data/cifar10), TEST_LIMIT (2000), SEED (1),
#   OURS_FLAGS (extra `pixelcnn train` flags, e.g. "--param weightnorm
#   --init data" for PixelCNN++'s recipe).
set -eu
build=${1:-build}
minutes=${2:?usage: sh bench/quality.sh BUILD_DIR MINUTES [THREADS] [CONFIG] [OUT]}
threads=${3:-2}
config=${4:-1,48,5}
. "$(dirname "$0")/args.sh"
bench_args bench/quality.sh "$minutes" "$threads" "$config"
data=${DATA:-../shared/data/cifar10}
test_limit=${TEST_LIMIT:-2000}
seed=${SEED:-1}
if [ -n "${5:-}" ]; then
    out=$5
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
if [ ! -f "$data/test_batch.bin" ]; then
    echo "bench/quality.sh: $data: no CIFAR-10 binary files (set DATA)" >&2
    exit 1
fi
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "bench/quality.sh: python3-torch not installed: no peer" >&2
    exit 1
fi
# Both trainers run under the OpenMP wait policy of the caller's
# environment, by default the runtime's own, as a user runs them: PASSIVE
# slowed both, the peer more (docs/training.md).
echo "== ours: $minutes min, ($R,$F,$M), $threads threads ${OURS_FLAGS:-}" >&2
rm -rf "$out/ours"
# shellcheck disable=SC2086
"$build/pixelcnn" train --data "cifar10:$data" --nr-resnet "$R" \
    --nr-filters "$F" --nr-mix "$M" --dropout 0 --seed "$seed" \
    --minutes "$minutes" --threads "$threads" --log-every 1 \
    --save-every 1000000 --test-limit "$test_limit" --out "$out/ours" \
    ${OURS_FLAGS:-} > "$out/ours.txt"
echo "== the lean PyTorch peer: $minutes min" >&2
/usr/bin/python3 twin/lean_train.py --data "$data" --nr-resnet "$R" \
    --nr-filters "$F" --nr-mix "$M" --seed "$seed" --minutes "$minutes" \
    --threads "$threads" --test-limit "$test_limit" \
    --csv "$out/peer.csv" > "$out/peer.json"
/usr/bin/python3 bench/quality_report.py "$out"
