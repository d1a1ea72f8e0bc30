"""The lean PyTorch peer (python/pixelcnn/torch_lean.py) computes the
network of torch_net.py, the twin the C library is tested against: on the
same random weights (v, g and b all random, so that every weight-norm and
bias term matters) its head parameters agree to ~1e-5 with the float64
twin, in float32 and both memory formats, with and without autograd (the
shifted convs take a different padding path in each); its bits/dim and
its parameter gradients agree too; and its dropout keeps a fraction 1 - p
of the values, scaled by 1/(1-p).
Run: /usr/bin/python3 -m pytest -q python/tests/test_torch_lean.py
"""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (Debian: python3-torch)")
torch.set_num_threads(1)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
from pixelcnn import torch_lean as L  # noqa: E402
from pixelcnn import torch_net as P  # noqa: E402

CONFIGS = [
    dict(channels=3, height=8, width=8, nr_resnet=1, nr_filters=6,
         nr_mix=2, nr_resolutions=3),
    dict(channels=1, height=6, width=10, nr_resnet=2, nr_filters=5,
         nr_mix=3, nr_resolutions=2),
    dict(channels=2, height=8, width=8, nr_resnet=1, nr_filters=4,
         nr_resolutions=2, head="categorical", levels=16),
]
FORMATS = [torch.contiguous_format, torch.channels_last]


def random_twin(kw, seed=0):
    """torch_net's network in float64 with random v, g, b, and a batch."""
    cfg = P.config(**kw)
    net = P.PixelCNNpp(cfg, torch.float64)
    net.init_params(seed)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for n, p in net.params.items():
            if n.endswith(".g"):
                p.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, p.shape)))
            elif n.endswith(".b"):
                p.copy_(torch.from_numpy(rng.normal(0, 0.1, p.shape)))
    x = torch.from_numpy(rng.integers(
        0, cfg["levels"], (3, cfg["channels"], cfg["height"],
                           cfg["width"])).astype(np.uint8))
    net.eval()
    return net, x


@pytest.mark.parametrize("fmt", FORMATS, ids=["nchw", "channels_last"])
@pytest.mark.parametrize("kw", CONFIGS, ids=["c3", "c1", "categorical"])
def test_forward_matches_twin(kw, fmt):
    net, x = random_twin(kw)
    with torch.no_grad():
        ref_l, ref_bpd = net(x), float(net.bits_per_dim(x))
    lean = L.LeanPixelCNNpp(net.cfg, memory_format=fmt)
    lean.load_params(net.state()).eval()
    with torch.inference_mode():
        l = lean(x).double()
        bpd = float(lean.bits_per_dim(x))
    l_grad = lean(x).detach().double()  # autograd on: the F.pad path
    assert l.shape == ref_l.shape
    scale = float(ref_l.abs().max())
    assert scale > 0.1  # the outputs are not all tiny
    assert float((l - ref_l).abs().max()) < 1e-5 * max(1.0, scale)
    assert float((l_grad - ref_l).abs().max()) < 1e-5 * max(1.0, scale)
    assert abs(bpd - ref_bpd) < 1e-5


def test_gradients_match_twin():
    net, x = random_twin(CONFIGS[0], seed=3)
    net.bits_per_dim(x).backward()
    lean = L.LeanPixelCNNpp(net.cfg).load_params(net.state()).eval()
    lean.bits_per_dim(x).backward()
    for name, p in lean.params.items():
        ref = net.params[name].grad
        err = float((p.grad.double() - ref).abs().max())
        assert err < 1e-4 * max(1.0, float(ref.abs().max())), name


def test_weights_once_per_pass(monkeypatch):
    """Every weight-normalized layer is normalized exactly once a pass."""
    net, x = random_twin(CONFIGS[1])
    lean = L.LeanPixelCNNpp(net.cfg).load_params(net.state()).eval()
    calls = []
    inner = torch._weight_norm
    monkeypatch.setattr(torch, "_weight_norm",
                        lambda v, g, d: calls.append(v) or inner(v, g, d))
    with torch.inference_mode():
        lean(x)
    assert len(calls) == len(lean.layers)
    assert len({id(v) for v in calls}) == len(calls)


def test_dropout_rate_and_scale():
    torch.manual_seed(0)
    x = torch.ones(4, 8, 32, 32)
    for p in (0.5, 0.2):
        y = L.dropout(x, p)
        kept = y != 0
        assert abs(float(kept.float().mean()) - (1 - p)) < 0.01
        assert torch.allclose(y[kept], torch.tensor(1 / (1 - p)))


def test_rejects_conditioning():
    with pytest.raises(ValueError, match="class labels"):
        L.LeanPixelCNNpp(P.config(num_classes=3, nr_resnet=1, nr_filters=4))
