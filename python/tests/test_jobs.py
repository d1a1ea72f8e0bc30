"""Each job of Chain against the CLI on the same inputs: bits/dim (eval),
sampling with a seed (sample), completion (complete), upscaling (upscale),
colorization and its scores (colorize, --metrics); and the progress
callback of each job, which reports and cancels."""
import math

import numpy as np
import pytest

import pixelcnn
from conftest import cli, grid_cell, number, read_png


def test_evaluate_model_as_cli(data, model):
    out = cli("eval", "--checkpoint", model, "--data", data.spec,
              "--batch", 16, "--threads", 1)
    with pixelcnn.Chain(model, threads=1) as m:
        r = m.evaluate(data.test, batch=16)
    assert r.images == 16 and r.dims == 64
    assert r.bits_per_dim == pytest.approx(
        number(r"bits/dim: ([\d.]+) \+-", out), abs=6e-5)
    assert r.se == pytest.approx(number(r"\+- ([\d.]+)", out), abs=6e-5)
    assert 4 < r.bits_per_dim < 9  # a model, not noise
    # each image's bound: their mean is the figure; log p in nats
    assert r.image_bits_per_dim.shape == (16,)
    assert r.image_bits_per_dim.mean() == pytest.approx(r.bits_per_dim)
    np.testing.assert_allclose(r.log_prob,
                               -r.image_bits_per_dim * 64 * math.log(2))
    assert r.image_bits_per_dim.std() > 0
    with pixelcnn.Chain(model, threads=1) as m:
        for k in (0, 7):
            one = m.evaluate(data.test[k:k + 1])
            assert one.bits_per_dim == pytest.approx(
                r.image_bits_per_dim[k], rel=1e-6)


def test_evaluate_raw_weights_differ(data, model):
    out = cli("eval", "--checkpoint", model, "--data", data.spec,
              "--weights", "raw", "--threads", 1)
    with pixelcnn.Chain(model, ema=False, threads=1) as raw, \
            pixelcnn.Chain(model, ema=True, threads=1) as ema:
        a, b = raw.evaluate(data.test), ema.evaluate(data.test)
    assert a.bits_per_dim == pytest.approx(
        number(r"bits/dim: ([\d.]+)", out), abs=6e-5)
    assert a.bits_per_dim != b.bits_per_dim


def test_evaluate_chain_as_cli(data, pyramid):
    out = cli("eval", "--checkpoint", pyramid.path, "--data", data.spec,
              "--threads", 1)
    with pixelcnn.Chain(pyramid.path, threads=1) as c:
        assert c.stages == 2 and c.image_shape == (1, 8, 8)
        assert [s["view_str"] for s in c.configs] == ["half(x)", "x"]
        r = c.evaluate(data.test, batch=5)
    total = number(r"\nbits/dim: ([\d.]+)", out)
    assert r.bits_per_dim == pytest.approx(total, abs=6e-5)
    assert sum(r.stage_bits) == pytest.approx(r.bits_per_dim)
    for i in range(2):
        assert r.stage_bits[i] == pytest.approx(number(
            r"stage %d: .*?: ([\d.]+) bits per image dim" % i, out), abs=6e-5)
    assert r.tightened == 1
    assert r.tight_bits_per_dim == pytest.approx(
        number(r"tightened bits/dim: ([\d.]+)", out), abs=6e-5)
    assert r.tight_bits_per_dim < r.bits_per_dim


def test_evaluate_stage_file_as_cli(data, pyramid):
    # a stage's checkpoint is a partial chain: its term, per dim of its
    # view and of the image
    out = cli("eval", "--checkpoint", pyramid.stages[1], "--data", data.spec,
              "--threads", 1)
    with pixelcnn.Chain(pyramid.stages[1], threads=1) as s, \
            pixelcnn.Chain(pyramid.path, threads=1) as c:
        assert not s.is_complete and c.is_complete
        assert s.image_shape == (1, 8, 8)
        r, whole = s.evaluate(data.test), c.evaluate(data.test)
    assert r.stage_own[0] == pytest.approx(
        number(r"bits/dim: ([\d.]+)", out), abs=6e-5)
    assert r.bits_per_dim == pytest.approx(
        number(r"per dim of the image: ([\d.]+)", out), abs=6e-5)
    assert r.bits_per_dim == pytest.approx(whole.stage_bits[1])


def test_evaluate_progress_and_cancel(data, model):
    seen = []
    with pixelcnn.Chain(model, threads=1) as m:
        r = m.evaluate(data.test, batch=5,
                       progress=lambda *a: seen.append(a))
        assert [s[:3] for s in seen] == [("eval", k, 16)
                                         for k in (5, 10, 15, 16)]
        assert seen[-1][3] == pytest.approx(r.bits_per_dim)
        with pytest.raises(pixelcnn.Cancelled) as e:
            m.evaluate(data.test, batch=5, progress=lambda j, d, t, v: d > 5)
        assert e.value.status_name == "cancelled"
        with pytest.raises(ZeroDivisionError):  # the callback's own error
            m.evaluate(data.test, batch=5, progress=lambda *a: 1 / 0)
        assert m.evaluate(data.test).bits_per_dim == r.bits_per_dim


def test_sample_model_as_cli(tmp_path, model):
    npy = tmp_path / "s.npy"
    cli("sample", "--checkpoint", model, "-n", 5, "--seed", 3, "-o", npy,
        "--threads", 1)
    rows = []
    with pixelcnn.Chain(model, threads=1) as m:
        x = m.sample(5, seed=3,
                     progress=lambda *a: rows.append(a) and False)
        other = m.sample(5, seed=4)
    assert x.dtype == np.uint8 and x.shape == (5, 1, 8, 8)
    np.testing.assert_array_equal(x, np.load(npy))
    assert (x != other).any()
    assert rows[-1][:3] == ("sample", 8, 8)  # rows of 8
    assert math.isnan(rows[-1][3])


def test_sample_chain_as_cli(tmp_path, pyramid):
    for extra in ([], ["--consistent"]):
        npy = tmp_path / "c.npy"
        cli("sample", "--checkpoint", pyramid.path, "-n", 4, "--seed", 9,
            "-o", npy, "--threads", 1, *extra)
        with pixelcnn.Chain(pyramid.path, threads=1) as c:
            small, x = c.sample(4, seed=9, consistent=bool(extra),
                                all_stages=True)
            np.testing.assert_array_equal(x, np.load(npy))
            assert small.shape == (4, 1, 4, 4)
            if extra:  # consistent: the images halve to the small ones
                np.testing.assert_array_equal(c.view(x, 0), small)


def test_sample_progress_and_cancel(pyramid):
    rows = []
    with pixelcnn.Chain(pyramid.path, threads=1) as c:
        c.sample(2, progress=lambda *a: rows.append(a[:3]))
        # the rows of both stages: 4 then 8
        assert rows[-1] == ("sample", 12, 12) and len(rows) >= 12
        with pytest.raises(pixelcnn.Cancelled):
            c.sample(2, progress=lambda j, d, t, v: d >= 3)


def test_complete_as_cli(tmp_path, data, model):
    npy = tmp_path / "k.npy"
    cli("complete", "--checkpoint", model, "--data", data.spec, "--count",
        2, "-n", 3, "--known", "top", "--seed", 5, "-o", npy, "--threads", 1)
    x = np.repeat(data.test[:2], 3, axis=0)
    known = np.arange(8)[:, None] < 4  # the top rows, broadcast
    with pixelcnn.Chain(model, threads=1) as m:
        y = m.complete(x, known, seed=5)
    np.testing.assert_array_equal(y, np.load(npy))
    np.testing.assert_array_equal(y[:, :, :4], x[:, :, :4])
    assert (y[:, :, 4:] != x[:, :, 4:]).any()


def test_upscale_as_cli(tmp_path, data, pyramid):
    npy = tmp_path / "u.npy"
    cli("upscale", "--checkpoint", pyramid.path, "--data", data.spec,
        "--count", 3, "-n", 2, "--seed", 6, "-o", npy, "--threads", 1)
    with pixelcnn.Chain(pyramid.path, threads=1) as c:
        small = np.repeat(c.view(data.test[:3], 0), 2, axis=0)
        assert small.shape == (6, 1, 4, 4)
        y = c.upscale(small, seed=6)
    np.testing.assert_array_equal(y, np.load(npy))


def test_colorize_as_cli(tmp_path, colorizer):
    png = tmp_path / "grid.png"
    out = cli("colorize", "--checkpoint", colorizer.path, "--data",
              colorizer.spec, "--count", 2, "-n", 3, "--seed", 2,
              "--scale", 1, "-o", png, "--threads", 1, "--metrics")
    grid = read_png(str(png))
    meanab = pixelcnn.mean_chroma(colorizer.images)
    scores = []
    rows = []
    with pixelcnn.Chain(colorizer.path, threads=1) as c:
        assert c.image_shape == (3, 32, 32) and not c.is_complete
        for k in range(2):
            x = colorizer.images[k]
            # the CLI's seed of image k (tools/cmd_colorize.c)
            y, ab = c.colorize(x, 3, seed=2 * 1000003 + k, chroma=True,
                               progress=lambda *a: rows.append(a[:3]))
            assert y.shape == (3, 3, 32, 32) and ab.shape == (3, 2, 16, 16)
            np.testing.assert_array_equal(grid_cell(grid, k, 1, 32, 32), x)
            for j in range(3):  # gray, original, then the colorizations
                np.testing.assert_array_equal(
                    grid_cell(grid, k, 2 + j, 32, 32), y[j])
            scores.append(pixelcnn.colorize_scores(x, y, meanab))
    assert rows[-1] == ("colorize", 16, 16)
    assert "mean chroma (%d, %d)" % (meanab[0] - 128, meanab[1] - 128) in out
    mean = {k: sum(s[k] for s in scores) / 2 for k in scores[0]}
    for key, pattern in (("psnr_best", r"best of 3 +([\d.]+)"),
                         ("psnr_mean", r"mean of 3 +([\d.]+)"),
                         ("psnr_gray", r"gray \(a = b = 0\) +([\d.]+)"),
                         ("psnr_meanab", r"mean chroma \(.*\) +([\d.]+)"),
                         ("color_truth", r"true colors +([\d.]+)"),
                         ("color_samples", r"samples +([\d.]+)\n"),
                         ("color_gray", r"\n +gray +([\d.]+)"),
                         ("color_meanab", r"\n +mean chroma +([\d.]+)")):
        assert mean[key] == pytest.approx(number(pattern, out), abs=0.006)
    assert mean["psnr_best"] >= mean["psnr_mean"]
