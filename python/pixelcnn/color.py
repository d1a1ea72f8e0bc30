"""Colorization figures: the scores of `pixelcnn colorize --metrics` for
one image and its colorizations, and the mean-chroma baseline."""
import ctypes

import numpy as np

from . import _lib
from ._lib import ERR_SHAPE, check, fail, lib
from ._util import Dataset, image, images, u8

SCORE_KEYS = tuple(n for n, _ in _lib.ColorizeScores._fields_)


def mean_chroma(x):
    """The mean a8 and b8 (Lab8) over every pixel of RGB images x
    (N, 3, H, W), rounded half up (pcnn_mean_chroma): the mean-chroma
    baseline, from a training split at the colorizer's image size."""
    ab = (ctypes.c_uint8 * 2)()
    with Dataset(x, what="mean_chroma") as d:
        check(lib.pcnn_mean_chroma(ctypes.byref(d.d), ab))
    return (ab[0], ab[1])


def colorize_scores(truth, samples, meanab=(128, 128)):
    """PSNR (dB over the RGB bytes) and colorfulness of colorizations
    samples (n, 3, h, w) of the true image truth (3, h, w), next to the
    gray baseline (a = b = 0) and the mean-chroma baseline meanab (a8,
    b8; mean_chroma), both with truth's own lightness
    (pcnn_colorize_score). A dict: psnr_best, psnr_mean, psnr_gray,
    psnr_meanab, color_truth, color_samples, color_gray, color_meanab."""
    t = np.asarray(truth)
    t = images(t[None] if t.ndim == 3 else t, "colorize_scores: truth")
    s = images(samples, "colorize_scores: samples")
    if t.shape[0] != 1 or s.shape[1:] != t.shape[1:]:
        raise fail(ERR_SHAPE, "colorize_scores: one true image and samples "
                   "of its shape (truth %s, samples %s)"
                   % (t.shape, s.shape))
    m = np.ascontiguousarray(meanab, dtype=np.uint8).reshape(2)
    r = _lib.ColorizeScores()
    check(lib.pcnn_colorize_score(image(t), u8(s), s.shape[0], u8(m),
                                  ctypes.byref(r)))
    return {k: getattr(r, k) for k in SCORE_KEYS}
