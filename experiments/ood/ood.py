"""Out-of-distribution detection with the shipped CIFAR-10 (JPEG-q75 copy)
models: AUROC of in-distribution test images against OOD sets, by raw
likelihood and by corrected scores (README "Out-of-distribution
detection", experiments/ood/results.md).

Run from the project root:
    PCNN_LIBRARY=build/libpixelcnn.so PYTHONPATH=python \\
        /usr/bin/python3 experiments/ood/ood.py --n 1000 --threads 1 --means

Every score is "higher = more OOD"; OOD images are the positives of the
AUROC. numpy and the pixelcnn package only.
"""
import argparse
import ctypes
import gzip
import os
import sys
import time
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data")


def auroc(inlier, ood):
    """Area under the ROC curve with OOD as positives and higher score =
    more OOD: P(s_ood > s_in) + P(s_ood == s_in) / 2, from the ranks of
    the pooled scores (ties get their average rank: Mann-Whitney U)."""
    a = np.asarray(inlier, np.float64).ravel()
    b = np.asarray(ood, np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError("auroc: both sets need at least one score")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("auroc: scores must be finite")
    pooled = np.concatenate([a, b])
    order = np.argsort(pooled, kind="mergesort")
    sorted_s = pooled[order]
    ranks = np.empty(pooled.size, np.float64)
    # runs of equal scores share the mean of the ranks they span (1-based)
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], pooled.size]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + 1 + e) / 2.0
    u = ranks[a.size:].sum() - b.size * (b.size + 1) / 2.0
    return float(u / (a.size * b.size))


# ------------------------------------------------------------------ data
def cifar_test(n):
    """n CIFAR-10 (JPEG-q75 copy) test images, every (10000 // n)-th: the
    file is sorted by class, so a stride covers all ten classes."""
    raw = np.fromfile(os.path.join(DATA, "cifar10", "test_batch.bin"),
                      np.uint8).reshape(-1, 3073)
    step = max(1, raw.shape[0] // n)
    return raw[::step][:n, 1:].reshape(-1, 3, 32, 32).copy()


def fashion_test(n):
    """n Fashion-MNIST test images, zero-padded 28 -> 32 (2 a side, the
    background is 0) and repeated to 3 channels."""
    with gzip.open(os.path.join(DATA, "fashion-mnist",
                                "t10k-images-idx3-ubyte.gz")) as f:
        b = f.read()
    x = np.frombuffer(b, np.uint8, offset=16).reshape(-1, 28, 28)[:n]
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)))
    return np.repeat(x[:, None], 3, axis=1).copy()


def faces(n):
    """Caltech-101 Faces_easy through the library's folder loader
    (pcnn_dataset_load_folder: RGB, centered square crop, area resize to
    32); None when the folder or the call is missing."""
    from pixelcnn import _lib
    d = os.path.join(DATA, "faces", "caltech101")
    if not os.path.isdir(d):
        return None
    fn = _lib.lib.pcnn_dataset_load_folder
    fn.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                   ctypes.POINTER(_lib.Dataset)]
    fn.restype = ctypes.c_int
    ds = _lib.Dataset()
    _lib.check(fn(d.encode(), 3, 32, ctypes.byref(ds)))
    try:
        k = int(ds.n * ds.c * ds.h * ds.w)
        x = np.ctypeslib.as_array(ds.images, (k,)).reshape(
            int(ds.n), int(ds.c), int(ds.h), int(ds.w)).copy()
    finally:
        _lib.lib.pcnn_dataset_free(ctypes.byref(ds))
    return x[:n]


def gaussian_noise(x, sigma, rng):
    y = x.astype(np.float64) + rng.normal(0.0, sigma, x.shape)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def box_blur(x):
    """3x3 box mean of each channel, edges replicated, rounded."""
    p = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)),
               mode="edge")
    h, w = x.shape[2], x.shape[3]
    s = sum(p[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3))
    return np.clip(np.rint(s / 9.0), 0, 255).astype(np.uint8)


def half_contrast(x):
    """Contrast halved toward 128: round(128 + (x - 128) / 2)."""
    return np.rint(128.0 + (x.astype(np.float64) - 128.0) / 2.0).astype(
        np.uint8)


def ood_sets(cifar, n, rng):
    sets = [("uniform noise", rng.integers(0, 256, (n, 3, 32, 32),
                                           dtype=np.uint8)),
            ("Fashion-MNIST (padded, gray to RGB)", fashion_test(n))]
    f = faces(n)
    if f is not None:
        sets.append(("faces (Caltech-101 Faces_easy)", f))
    sets += [("CIFAR + gaussian noise sigma 25",
              gaussian_noise(cifar, 25.0, rng)),
             ("CIFAR 3x3 box blur", box_blur(cifar)),
             ("CIFAR contrast halved", half_contrast(cifar))]
    return sets


# ---------------------------------------------------------------- scores
def zlib_bpd(x):
    """Bits per dim of each image's bytes (C, H, W order) compressed by
    zlib level 9: the generic-compressor complexity of Serra et al. 2020."""
    dims = x[0].size
    return np.array([8.0 * len(zlib.compress(im.tobytes(), 9)) / dims
                     for im in x])


def sub_zlib_bpd(x):
    """As zlib_bpd after PNG's Sub filter (each byte minus its left
    neighbour in its row, mod 256; the first column kept): a closer stand-in
    for a PNG file's size, as smooth images shrink more."""
    d = x.copy()
    d[..., 1:] = (x[..., 1:].astype(np.int16) - x[..., :-1]).astype(np.uint8)
    return zlib_bpd(d)


def model_terms(models, x):
    """Per image, bits per dim of x: each chain's tightened stage terms."""
    out = {}
    for name, ch in models.items():
        out[name] = ch.score(x, batch=50, maps=False).tight_bits
    return out


def scores(models, x):
    """The named per-image scores, higher = more OOD (bits per dim)."""
    t = model_terms(models, x)
    plain = t["plain"].sum(axis=1)
    pyr, gray = t["pyramid"], t["gray"]
    return {
        "plain bits/dim (raw)": plain,
        "pyramid bits/dim (raw, tightened)": pyr.sum(axis=1),
        "gray chain bits/dim (raw, tightened)": gray.sum(axis=1),
        "plain - zlib bits/dim (Serra)": plain - zlib_bpd(x),
        "plain - Sub-filter zlib bits/dim (Serra)": plain - sub_zlib_bpd(x),
        "pyramid upper stages (-log2 p(x | 8x8))": pyr[:, 1:].sum(axis=1),
        "gray chain color term (-log2 p(x | gray4))": gray[:, 1:].sum(
            axis=1),
        "plain - gray4 term (ratio)": plain - gray[:, 0],
    }


MODELS = {"plain": "results/cifar10-jpeg-q75/model.safetensors",
          "pyramid": "results/cifar10-pyramid/chain.safetensors",
          "gray": "results/cifar10-gray-chain/chain.safetensors"}


def table(names, res, counts):
    cols = list(res.keys())
    lines = ["| score (higher = more OOD) | " + " | ".join(
        "%s (%d)" % (c, counts[c]) for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|"]
    for s in names:
        lines.append("| %s | " % s + " | ".join(
            "%.4f" % res[c][s] for c in cols) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--means", action="store_true",
                    help="also print each set's mean of each score")
    a = ap.parse_args(argv)
    import pixelcnn
    rng = np.random.default_rng(a.seed)
    models = {k: pixelcnn.Chain.load(os.path.join(ROOT, p),
                                     threads=a.threads)
              for k, p in MODELS.items()}
    cifar = cifar_test(a.n)
    t0 = time.time()
    s_in = scores(models, cifar)
    means = {"CIFAR-10 (JPEG-q75 copy) test": s_in}
    res, counts = {}, {"CIFAR-10 (JPEG-q75 copy) test": len(cifar)}
    for name, x in ood_sets(cifar, a.n, rng):
        s = scores(models, x)
        means[name], counts[name] = s, len(x)
        res[name] = {k: auroc(s_in[k], s[k]) for k in s_in}
        print("%s: %d images, %.0f s" % (name, len(x), time.time() - t0),
              file=sys.stderr, flush=True)
    print("in-distribution: %d CIFAR-10 (JPEG-q75 copy) test images\n"
          % len(cifar))
    print("AUROC, OOD = positive (images in each column header):\n")
    print(table(list(s_in.keys()), res, counts))
    if a.means:
        print("\nmean score per set (bits/dim):\n")
        mc = {k: {s: float(np.mean(v[s])) for s in v}
              for k, v in means.items()}
        print(table(list(s_in.keys()), mc, counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
