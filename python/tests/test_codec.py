"""Chain.compress / decompress and codec_info against pixelcnn compress /
decompress: the same bytes from the same images, each side decoding the
other's file, progressive decoding, errors."""
import numpy as np
import pytest

import pixelcnn
from conftest import cli


def test_compress_as_cli(tmp_path, data, model):
    path = tmp_path / "a.pcnn"
    cli("compress", "--checkpoint", model, "--data", data.spec, "--limit", 5,
        "--batch", 2, "--threads", 1, "-o", path)
    with pixelcnn.Chain(model, threads=1) as m:
        b = m.compress(data.test[:5], batch=2)
        assert b == path.read_bytes()
        assert (m.decompress(b) == data.test[:5]).all()
        f = pixelcnn.codec_info(b)
        assert f["n"] == 5 and f["shape"] == (1, 8, 8) and f["batch"] == 2
        assert f["weights"] == m.hash and f["stages"] == 1
    # the CLI decodes the package's file
    (tmp_path / "b.pcnn").write_bytes(b)
    cli("decompress", "--checkpoint", model, tmp_path / "b.pcnn", "-o",
        tmp_path / "b.npy")
    got = np.load(tmp_path / "b.npy")
    assert (got == data.test[:5]).all()


def test_progressive_and_errors(data, pyramid, model):
    with pixelcnn.Chain(pyramid.path, threads=2) as c:
        b = c.compress(data.test[:3])
        small = c.decompress(b, stage=0)
        assert (small == c.view(data.test[:3], 0)).all()
        assert (c.decompress(b) == data.test[:3]).all()
        seen = []
        c.decompress(b, progress=lambda *a: seen.append(a))
        assert seen[-1][0] == "decompress" and seen[-1][1] == seen[-1][2]
        with pytest.raises(pixelcnn.Cancelled):
            c.decompress(b, progress=lambda *a: True)
    with pixelcnn.Chain(model, threads=1) as m:
        with pytest.raises(pixelcnn.PixelCNNError, match="another model"):
            m.decompress(b)
    with pytest.raises(pixelcnn.PixelCNNError, match="truncated"):
        pixelcnn.codec_info(b[:-5])
    bad = bytearray(b)
    bad[len(bad) - 2] ^= 1
    with pixelcnn.Chain(pyramid.path, threads=1) as c:
        with pytest.raises(pixelcnn.PixelCNNError, match="damaged"):
            c.decompress(bytes(bad))


def test_color_chain_stage_as_colorization(tmp_path, colorizer):
    """A color chain (L, then the colorizer): stage 1 decodes as the
    CLI writes it, RGB at L's size; stage 0 has no chroma."""
    cli("train", "--data", colorizer.spec, "--out", tmp_path / "L",
        "--view", "L", "--steps", 3, "--no-test", "--nr-resnet", 1,
        "--nr-filters", 8, "--nr-mix", 2, "--nr-resolutions", 2,
        "--dropout", 0, "--batch", 4, "--threads", 1)
    path = tmp_path / "color.safetensors"
    cli("chain", "--out", path, tmp_path / "L" / "checkpoint.safetensors",
        colorizer.path)
    x = colorizer.images[:2]
    with pixelcnn.Chain(str(path), threads=1) as c:
        b = c.compress(x)
        assert (c.decompress(b) == x).all()
        rgb = c.decompress(b, stage=1, colorize=True)
        assert rgb.shape == (2, 3, 32, 32)
        with pytest.raises(pixelcnn.PixelCNNError,
                           match="not a color chain's chroma"):
            c.decompress(b, stage=0, colorize=True)
    (tmp_path / "a.pcnn").write_bytes(b)
    cli("decompress", "--checkpoint", path, tmp_path / "a.pcnn", "--stage",
        1, "-o", tmp_path / "c.npy")
    assert (np.load(tmp_path / "c.npy") == rgb).all()
