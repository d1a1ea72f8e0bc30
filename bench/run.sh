#!/bin/sh
# bench/run.sh -- `make bench`: every speed figure of the README, in one run.
#   1. conv GFLOP/s against the machine's SGEMM rate (pixelcnn bench)
#   2. whole-model training and evaluation images/s and peak memory
#      (pixelcnn bench --models)
#   3. sampling 16 images: cached and naive (pixelcnn bench --sampling),
#      and pyramid chains against single-stage models (bench --pyramid)
#   4. when Debian's python3-torch is there, the PyTorch twin's same figures
#      (twin/bench_twin.py --sampling, same threads; the lean twin,
#      torch_lean.py, or TWIN=full for torch_net.py) and our ratios to it.
# Usage: sh bench/run.sh BUILD_DIR [THREADS]
set -eu
build=${1:-build}
threads=${2:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== conv ops vs SGEMM (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
"$build/pixelcnn" bench --threads "$threads"
echo
echo "== whole models"
"$build/pixelcnn" bench --models --threads "$threads" | tee "$out/ours.jsonl"
echo
echo "== sampling"
"$build/pixelcnn" bench --sampling --threads "$threads" | tee "$out/sampling.jsonl"
echo
echo "== pyramid sampling"
"$build/pixelcnn" bench --pyramid --threads "$threads"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo
    echo "== PyTorch twin ${TWIN:-lean} ($(/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)'), $threads threads)"
    /usr/bin/python3 twin/bench_twin.py --threads "$threads" --sampling \
        --twin "${TWIN:-lean}" | tee "$out/twin.jsonl"
    echo
    /usr/bin/python3 bench/compare.py "$out/ours.jsonl" "$out/twin.jsonl" "$out/sampling.jsonl"
else
    echo "(python3-torch not installed: no twin comparison)"
fi
