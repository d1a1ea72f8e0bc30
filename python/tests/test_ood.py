"""The AUROC of experiments/ood/ood.py (OOD = positive, higher score =
more OOD) on cases whose answer is known, and its corruptions' ranges."""
import importlib.util
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _ood():
    spec = importlib.util.spec_from_file_location(
        "ood", os.path.join(ROOT, "experiments", "ood", "ood.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


ood = _ood()


def test_auroc_perfect_reversed_and_ties():
    assert ood.auroc([1, 2, 3], [4, 5]) == 1.0
    assert ood.auroc([4, 5], [1, 2, 3]) == 0.0
    assert ood.auroc([7, 7, 7], [7, 7]) == 0.5


def test_auroc_partial_overlap_counts_pairs():
    # the 6 (in, ood) pairs: ood wins (0,1) (0,2) (0,3) (2,3), loses
    # (2,1), ties (2,2) -> (4 + 0.5) / 6
    assert ood.auroc([0, 2], [1, 2, 3]) == pytest.approx(4.5 / 6)


def test_auroc_matches_pair_count_on_random_scores():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 5, 40).astype(float)
    b = rng.integers(1, 6, 30).astype(float)
    wins = (b[:, None] > a[None, :]).sum() + 0.5 * (
        b[:, None] == a[None, :]).sum()
    assert ood.auroc(a, b) == pytest.approx(wins / (a.size * b.size))


def test_auroc_rejects_empty_and_nan():
    with pytest.raises(ValueError):
        ood.auroc([], [1.0])
    with pytest.raises(ValueError):
        ood.auroc([1.0, np.nan], [1.0])


def test_corruptions_keep_shape_and_range():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2, 3, 8, 8), dtype=np.uint8)
    flat = np.full((1, 3, 4, 4), 200, np.uint8)
    assert ood.box_blur(flat).tolist() == flat.tolist()
    assert (ood.half_contrast(flat) == 164).all()
    for y in (ood.box_blur(x), ood.half_contrast(x),
              ood.gaussian_noise(x, 25.0, rng)):
        assert y.dtype == np.uint8 and y.shape == x.shape
    assert ood.half_contrast(x).min() >= 64
    assert ood.half_contrast(x).max() <= 192


def test_sub_filter_shrinks_a_ramp():
    x = np.tile(np.arange(32, dtype=np.uint8) * 7, (1, 3, 32, 1))
    assert ood.sub_zlib_bpd(x)[0] < ood.zlib_bpd(x)[0]
