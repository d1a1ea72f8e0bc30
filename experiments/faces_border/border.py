#!/usr/bin/python3
"""border.py -- where the faces pyramid's top stage spends its bits, column
by column and row by row, on real faces; the same per-pixel log-probs by
the PyTorch twin; and the mass the model puts on values far from the truth.

    OMP_NUM_THREADS=1 /usr/bin/python3 experiments/faces_border/border.py

Reads results/faces-pyramid/chain.safetensors and
../shared/data/faces/caltech101 (64x64 as in the README: the last 43 in
name order are the test split, the first 392 the training split).
"""
import ctypes
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
import pixelcnn  # noqa: E402
from pixelcnn import _lib  # noqa: E402
from pixelcnn import torch_interop as I  # noqa: E402

CHAIN = os.path.join(ROOT, "results/faces-pyramid/chain.safetensors")
FACES = os.path.join(ROOT, "../shared/data/faces/caltech101")


def faces():
    d = _lib.Dataset()
    _lib.check(_lib.lib.pcnn_dataset_load_folder(FACES.encode(), 3, 64,
                                                 ctypes.byref(d)))
    x = np.ctypeslib.as_array(d.images, shape=(d.n, 3, 64, 64)).copy()
    _lib.lib.pcnn_dataset_free(ctypes.byref(d))
    return x[:392], x[392:]


def training_crops():
    """The top stage's training images as `pixelcnn train --crops 8` made
    them (the training split at 128x128, 8 crops each to 64x64, seed 1)."""
    L, D = _lib.lib, ctypes.POINTER(_lib.Dataset)
    L.pcnn_dataset_load_folder.argtypes = [ctypes.c_char_p, ctypes.c_int,
                                           ctypes.c_int, D]
    L.pcnn_dataset_subset.argtypes = [D, ctypes.c_int64, ctypes.c_int64, D]
    L.pcnn_dataset_crops.argtypes = [D, ctypes.c_int, ctypes.c_int,
                                     ctypes.c_double, ctypes.c_uint64, D]
    d = _lib.Dataset()
    _lib.check(L.pcnn_dataset_load_folder(FACES.encode(), 3, 128,
                                          ctypes.byref(d)))
    _lib.check(L.pcnn_dataset_subset(ctypes.byref(d), 0, d.n - d.n // 10,
                                     ctypes.byref(d)))
    _lib.check(L.pcnn_dataset_crops(ctypes.byref(d), 64, 8, 0.8, 1,
                                    ctypes.byref(d)))
    x = np.ctypeslib.as_array(d.images, shape=(d.n, 3, 64, 64)).copy()
    L.pcnn_dataset_free(ctypes.byref(d))
    return x


def data_profile(x):
    """How far each pixel is from its parent (the 2x2 mean it is drawn
    given), column by column: the data at the border are no harder."""
    a = x.astype(np.int32)
    par = (a.reshape(-1, 3, 32, 2, 32, 2).sum((3, 5)) + 2) // 4
    dev = np.abs(a - par.repeat(2, 2).repeat(2, 3))
    print("training crops (%d): mean |x - parent| by column 0-3: %s, "
          "last: %.2f; share > 50: %s, last: %.4f; share > 100: column 0 "
          "%.5f, all %.5f"
          % (len(x), np.round(dev[..., :4].mean((0, 1, 2)), 2),
             dev[..., -1].mean(), np.round((dev[..., :4] > 50).mean(
                 (0, 1, 2)), 4), (dev[..., -1] > 50).mean(),
             (dev[..., 0] > 100).mean(), (dev > 100).mean()))


def profile(name, m):
    """Mean bits per pixel of maps m (N, H, W): columns and rows."""
    col, row = m.mean((0, 1)), m.mean((0, 2))
    inner = m[:, 2:-2, 2:-2].mean()
    print("%s: interior %.2f bits/pixel; columns 0-3: %.2f %.2f %.2f %.2f, "
          "last: %.2f; rows 0-3: %.2f %.2f %.2f %.2f, last: %.2f"
          % ((name, inner) + tuple(col[:4]) + (col[-1],) + tuple(row[:4]) +
             (row[-1],)))


def main():
    data_profile(training_crops())
    train, test = faces()
    with pixelcnn.Chain(CHAIN, threads=1) as c:
        for split, x in (("test (43)", test), ("train (392)", train)):
            s = c.score(x, batch=8)
            profile("library, %s, stage 3 plain" % split, s.maps[3])
            profile("library, %s, stage 3 tightened" % split,
                    s.tight_maps[3])
            profile("library, %s, stage 2 plain" % split, s.maps[2])
            if split.startswith("test"):
                lib3 = s.maps[3]
    # the twin: the same stage's per-pixel log p from the same weights
    torch.set_num_threads(1)
    net, cfg = I.load_module(CHAIN, stage=3)
    inp = I.stage_inputs(cfg, test)
    with torch.no_grad():
        lp = net.log_prob(torch.from_numpy(inp["x"]),
                          cond=torch.from_numpy(inp["cond"]))
    twin = -lp[:, 0].double().numpy() / np.log(2)
    profile("twin, test, stage 3 plain", twin)
    print("twin vs library, stage 3 per pixel: max |diff| %.2g bits"
          % np.abs(twin - lib3).max())


if __name__ == "__main__":
    main()
