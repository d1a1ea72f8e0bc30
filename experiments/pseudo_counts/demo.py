#!/usr/bin/python3
"""demo.py -- pseudo-counts of a stream of Fashion-MNIST test images in
which 5 images come 10 times in a row each and 5 others once:

    0 x10, 100, 1 x10, 101, 2 x10, 102, 3 x10, 103, 4 x10, 104

    OMP_NUM_THREADS=1 /usr/bin/python3 experiments/pseudo_counts/demo.py \
        MODEL [--lr LR ...] [--optimizer sgd|adam]

For each learning rate: the `pixelcnn score --pseudo-counts` command that
gives the same numbers (printed once), then one table row: the geometric
mean count of the repeated images at their 1st (when they are new), 2nd,
5th and 10th occurrence, of the 5 images seen once, how many repeated
images ended above their first count, how many of the images seen once
are below every repeated image's 10th count, and how many of the 55
counts are infinite (the step lowered p).
"""
import argparse
import gzip
import math
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
import pixelcnn  # noqa: E402

DATA = os.path.join(ROOT, "../shared/data/fashion-mnist")
SPEC = ",".join("%d*10,%d" % (k, 100 + k) for k in range(5))


def test_images():
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28)


def gmean(v):
    v = np.asarray(v)
    return math.exp(np.log(v).mean()) if np.isfinite(v).all() else math.inf


def row(counts, lr):
    n = counts.reshape(5, 11)  # per block: 10 repeats, then one new image
    rep, once = n[:, :10], n[:, 10]
    return ("| %g | %s | %.3g | %d of 5 | %d of 5 | %d |"
            % (lr, " | ".join("%.3g" % gmean(rep[:, k]) for k in
                              (0, 1, 4, 9)),
               gmean(once), (rep[:, 9] > rep[:, 0]).sum(),
               (once < rep[:, 9].min()).sum(), np.isinf(counts).sum()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--lr", type=float, nargs="+", default=[1e-5])
    ap.add_argument("--optimizer", default="sgd")
    a = ap.parse_args()
    print("build/pixelcnn score --checkpoint %s --pseudo-counts --data "
          "fashion-mnist:../shared/data/fashion-mnist --stream '%s' "
          "--lr LR --optimizer %s --threads 1" % (a.model, SPEC,
                                                  a.optimizer))
    idx = sum(([k] * 10 + [100 + k] for k in range(5)), [])
    x = test_images()[idx]
    print("| lr | 1st | 2nd | 5th | 10th | seen once | grew | once below "
          "all 10th | infinite |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lr in a.lr:
        with pixelcnn.Chain(a.model, threads=1) as m:
            p = m.pseudo_counts(x, lr=lr, adam=a.optimizer == "adam")
        print(row(p.counts, lr))


if __name__ == "__main__":
    main()
