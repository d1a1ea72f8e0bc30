"""Chain.restore and Chain.purify against pixelcnn restore and purify: the
same images from the same inputs, the eps ball, errors."""
import numpy as np
import pytest

import pixelcnn
from conftest import cli


def test_restore_and_purify_as_cli(tmp_path, data, model):
    x = data.test[:4]
    rng = np.random.default_rng(3)
    y = np.clip(x + rng.normal(0, 20, x.shape), 0, 255).astype(np.uint8)
    ys = data.test.copy()
    ys[:4] = y
    from conftest import write_idx
    d = tmp_path / "noisy"
    d.mkdir()
    write_idx(str(d), "t10k", ys, data.test_labels)
    write_idx(str(d), "train", data.train, data.train_labels)
    spec = "mnist:%s" % d
    cli("restore", "--checkpoint", model, "--mode", "denoise", "--sigma", 20,
        "--data", spec, "--count", 4, "--threads", 1, "-o",
        tmp_path / "r.npy")
    cli("purify", "--checkpoint", model, "--eps", 8, "--data", spec,
        "--count", 4, "--threads", 2, "-o", tmp_path / "p.npy")
    with pixelcnn.Chain(model, threads=2) as m:
        r = m.restore(y, "denoise", sigma=20)
        assert (r == np.load(tmp_path / "r.npy")).all()
        p = m.purify(y, 8)
        assert (p == np.load(tmp_path / "p.npy")).all()
        assert np.abs(p.astype(int) - y).max() <= 8
        assert (m.purify(y, 0) == y).all()
        k = np.full((3, 3), 1 / 9)
        b = m.restore(y, "deblur", sigma=2, kernel=k, passes=2)
        assert b.shape == y.shape
        known = np.zeros((8, 8), bool)
        known[:4] = True
        f = m.restore(y, "inpaint", mask=known, mean=True)
        assert (f[:, :, :4] == y[:, :, :4]).all()
        with pytest.raises(pixelcnn.PixelCNNError, match="sigma"):
            m.restore(y, "denoise")
        with pytest.raises(pixelcnn.PixelCNNError, match="mode"):
            m.restore(y, "sharpen", sigma=1)
        with pytest.raises(pixelcnn.PixelCNNError, match="eps"):
            m.purify(y, -1)
        with pytest.raises(pixelcnn.Cancelled):
            m.purify(y, 4, progress=lambda *a: True)
