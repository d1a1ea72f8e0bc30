#!/bin/sh
# progressive_figure.sh -- the README's figure of a progressive decode:
# 8 held-out CIFAR-10 images coded with the pyramid chain into one file,
# decoded three times from it (decompress --stage 0, 1, 2: 8x8, 16x16,
# 32x32), each shown at the same size (nearest neighbour), one image a
# row, its file size per stage beside it in the output.
#
#   sh scripts/progressive_figure.sh [OUT.png]
set -eu
OUT=${1:-results/compress/progressive.png}
PX=${PX:-build/pixelcnn}
M=results/cifar10-pyramid/chain.safetensors
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$(dirname "$OUT")"
$PX compress --checkpoint $M --data cifar10:../shared/data/cifar10-exact/data_batch_1_first4000.bin \
    --limit 8 --threads 1 -o "$T/x.pcnn"
for k in 0 1 2; do
    $PX decompress --checkpoint $M "$T/x.pcnn" --stage $k --threads 1 -o "$T/s$k.npy" >/dev/null
done
/usr/bin/python3 - "$T" "$OUT" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "scripts")
from bench_compress_png import png

t, out = sys.argv[1], sys.argv[2]
scale, gap, side = 3, 4, 32
stages = [np.load("%s/s%d.npy" % (t, k)) for k in range(3)]
n = stages[0].shape[0]
H = n * (side * scale + gap) + gap
W = 3 * (side * scale + gap) + gap
grid = np.full((H, W, 3), 255, np.uint8)
for i in range(n):
    for k, s in enumerate(stages):
        f = side // s.shape[2] * scale
        img = s[i].transpose(1, 2, 0).repeat(f, 0).repeat(f, 1)
        y, x = gap + i * (side * scale + gap), gap + k * (side * scale + gap)
        grid[y:y + side * scale, x:x + side * scale] = img
png(out, grid)
PY
$PX decompress --info "$T/x.pcnn"
