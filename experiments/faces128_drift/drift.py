"""How much of the faces 8 -> 128 chain's drawn top stage is flat saturated
orange (docs/results.md, "Faces to 128x128"): eight images drawn from
scratch to 64x64 with log-scale offset o64, then upscaled to 128x128 with
o128; per image, the share of pixels with R > 230, G > 120, B < 20.

Usage (from the repository root, after make):
  build/pixelcnn chain --out /tmp/faces128.safetensors \
      --below results/faces-pyramid/chain.safetensors \
      results/faces-pyramid/stage128.safetensors
  PYTHONPATH=python PCNN_LIBRARY=build/libpixelcnn.so \
      /usr/bin/python3 experiments/faces128_drift/drift.py /tmp/faces128.safetensors
"""
import sys

import numpy as np

import pixelcnn


def main(path):
    c = pixelcnn.Chain(path, threads=2)
    for o64 in (0.0, -0.5, -1.0):
        for o128 in (0.0, -0.3):
            stages = c.sample(8, seed=3, log_scale_offset=o64,
                              all_stages=True)
            x = c.upscale(stages[3], seed=3, first=4,
                          log_scale_offset=o128).astype(int)
            orange = (x[:, 0] > 230) & (x[:, 1] > 120) & (x[:, 2] < 20)
            print("o64 %4.1f o128 %4.1f  orange share per image: %s"
                  % (o64, o128, np.round(orange.mean(axis=(1, 2)), 3)))


if __name__ == "__main__":
    main(sys.argv[1])
