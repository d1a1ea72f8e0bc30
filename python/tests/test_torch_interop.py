"""PyTorch interop both ways (python/pixelcnn/torch_interop.py):

1. checkpoints trained by `pixelcnn train` load into a torch module that
   gives the bits/dim `pixelcnn eval` prints (raw and EMA weights; a
   class-conditional model, the stages of a gray chain: a categorical head
   and a condition map through the conditioning network; the chain file);
2. torch modules with random weights, exported with export_state_dict,
   give `pixelcnn eval` the bits/dim torch computes, for every config kind
   torch_interop covers;
3. bad state dicts, configs and files raise errors naming the tensor or
   key, and write nothing.

`pixelcnn eval` prints 4 decimals: agreement within 1e-4 means the two
differ by less than about 5e-5 (float32 rounding gives about 1e-6).
The tool is $PCNN_CLI (must exist when set) or build/pixelcnn (the tests
skip without it). Run: /usr/bin/python3 -m pytest -q python/tests
"""
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (Debian: python3-torch)")
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
from pixelcnn import torch_interop as I  # noqa: E402
from pixelcnn import torch_net as P  # noqa: E402
from pixelcnn import torch_ops as T  # noqa: E402

TINY = ["--nr-resnet", "1", "--nr-filters", "8", "--nr-mix", "2",
        "--nr-resolutions", "2", "--batch", "8", "--dropout", "0.2",
        "--threads", "1", "--no-test", "--seed", "3"]
TOL = 1e-4


# --------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def cli():
    env = os.environ.get("PCNN_CLI")
    path = Path(env) if env else ROOT / "build" / "pixelcnn"
    if not path.is_file():
        if env:
            pytest.fail("PCNN_CLI=%s does not exist" % env)
        pytest.skip("no %s (build it with make)" % path)
    return str(path)


def run(cli, *args, ok=True):
    r = subprocess.run([cli] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=300)
    if ok and r.returncode != 0:
        pytest.fail("pixelcnn %s: exit %d\n%s%s" % (
            " ".join(map(str, args)), r.returncode, r.stdout, r.stderr))
    return r


def eval_bpd(cli, ckpt, data, *flags):
    """The mean bits/dim `pixelcnn eval` prints (a stage's own term)."""
    out = run(cli, "eval", "--checkpoint", ckpt, "--data", data,
              "--threads", "1", *flags).stdout
    m = re.search(r"^bits/dim: ([0-9.]+)", out, re.M)
    assert m, out
    return float(m.group(1))


def write_idx(path, a):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, a.ndim]))
        f.write(struct.pack(">%dI" % a.ndim, *a.shape))
        f.write(np.ascontiguousarray(a, dtype=np.uint8).tobytes())


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """A tiny MNIST-format data set: 64 train, 16 test images of 8x8 with
    a learnable pattern (a ramp plus noise), 4 classes."""
    d = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(5)
    for split, n in (("train", 64), ("t10k", 16)):
        ramp = (4 * np.arange(64)).reshape(1, 8, 8)
        x = rng.integers(0, 64, size=(n, 8, 8)) + ramp
        write_idx(d / ("%s-images-idx3-ubyte" % split), x.astype(np.uint8))
        write_idx(d / ("%s-labels-idx1-ubyte" % split),
                  (np.arange(n) % 4).astype(np.uint8))
    x, labels = I.load_images(d / "t10k-images-idx3-ubyte",
                              labels_path=d / "t10k-labels-idx1-ubyte")
    return {"spec": "mnist:%s" % d, "x": x, "labels": labels}


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    """A CIFAR-10 binary file of 6 RGB 32x32 images (smooth colour fields
    plus noise), labels 0..5."""
    path = tmp_path_factory.mktemp("cifar") / "test_batch.bin"
    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[0:32, 0:32]
    recs = []
    for k in range(6):
        img = np.stack([yy * 6, xx * 7, (yy + xx) * 3 + 40 * k])
        img = (img + rng.integers(0, 30, size=img.shape)) % 256
        recs.append(np.concatenate([[k], img.ravel()]).astype(np.uint8))
    path.write_bytes(np.concatenate(recs).tobytes())
    x, labels = I.load_images(path)
    return {"spec": "cifar10:%s" % path, "x": x, "labels": labels}


def torch_bpd(net, cfg, data):
    return I.bits_per_dim(net, **I.stage_inputs(cfg, data["x"],
                                                data["labels"]))


# ------------------------------------------- 1. our checkpoints -> torch


@pytest.fixture(scope="module")
def trained(cli, mnist, tmp_path_factory):
    """Tiny runs of pixelcnn train: a class-conditional model and the two
    stages of the gray chain, joined into a chain file."""
    d = tmp_path_factory.mktemp("runs")
    runs = {
        "classes": ["--class-conditional"],
        "gray0": ["--chain", "gray", "--stage", "0"],
        "gray1": ["--chain", "gray", "--stage", "1", "--cond-nr-resnet",
                  "2", "--cond-nr-filters", "4", "--cond-dilate"],
    }
    out = {}
    for name, flags in runs.items():
        run(cli, "train", "--data", mnist["spec"], "--out", d / name,
            "--steps", "40", *TINY, *flags)
        out[name] = d / name / "checkpoint.safetensors"
    out["chain"] = d / "gray.chain.safetensors"
    run(cli, "chain", "--out", out["chain"], out["gray0"], out["gray1"])
    return out


@pytest.mark.parametrize("ema", [False, True])
def test_class_conditional_checkpoint_matches_cli(cli, mnist, trained, ema):
    ckpt = trained["classes"]
    net, cfg = I.load_module(ckpt, ema=ema)
    assert cfg["num_classes"] == 4 and not net.training
    want = eval_bpd(cli, ckpt, mnist["spec"], "--weights",
                    "ema" if ema else "raw")
    assert abs(torch_bpd(net, cfg, mnist) - want) < TOL


def test_raw_and_ema_weights_differ(trained, mnist):
    """The two comparisons above test different weights."""
    raw, cfg = I.load_module(trained["classes"])
    ema, _ = I.load_module(trained["classes"], ema=True)
    assert abs(torch_bpd(raw, cfg, mnist) - torch_bpd(ema, cfg, mnist)) > 1e-3


@pytest.mark.parametrize("stage", ["gray0", "gray1"])
def test_stage_checkpoints_match_cli(cli, mnist, trained, stage):
    net, cfg = I.load_module(trained[stage], ema=True)
    if stage == "gray0":  # gray4(x): a categorical head over 16 values
        assert (cfg["head"], cfg["levels"], cfg["view_gray4"]) == \
            ("categorical", 16, 1)
    else:  # x given gray4(x), through the conditioning network
        assert cfg["cond_view_gray4"] == 1 and cfg["cond_nr_filters"] == 4
        assert cfg["cond_down"] == 1 and cfg["cond_dilate"] == 1
    want = eval_bpd(cli, trained[stage], mnist["spec"], "--weights", "ema")
    assert abs(torch_bpd(net, cfg, mnist) - want) < TOL


def test_chain_stages_match_cli(cli, mnist, trained):
    out = run(cli, "eval", "--checkpoint", trained["chain"], "--data",
              mnist["spec"], "--threads", "1").stdout
    # the stage lines (the colour stage's tightened line follows them)
    own = [float(v) for v in re.findall(
        r"stage \d+: .*\(([0-9.]+) per dim of the stage", out)]
    assert len(own) == 2, out
    for k in range(2):
        net, cfg = I.load_module(trained["chain"], stage=k)
        assert abs(torch_bpd(net, cfg, mnist) - own[k]) < TOL
    # the chain holds the stages' EMA weights
    a, _ = I.load_state(trained["chain"], stage=1)
    b, _ = I.load_state(trained["gray1"], ema=True)
    assert all(np.array_equal(a[n], b[n]) for n in b)


@pytest.mark.parametrize("storage", ["f16", "bf16"])
def test_16bit_exports_load_as_the_library_reads_them(cli, mnist, trained,
                                                      tmp_path, storage):
    """pixelcnn export --storage f16/bf16 of a checkpoint and of a chain:
    the loader gives float32 weights equal to the rounded ones, and the
    module's bits/dim equal pixelcnn eval's on the same file."""
    f = tmp_path / "m.safetensors"
    run(cli, "export", "--checkpoint", trained["classes"], "--out", f,
        "--storage", storage)
    got, cfg = I.load_state(f)
    want, _ = I.load_state(trained["classes"], ema=True)
    for n in want:
        w = torch.from_numpy(want[n])
        w = w.half() if storage == "f16" else w.bfloat16()
        assert got[n].dtype == np.float32
        assert np.array_equal(got[n], w.float().numpy()), n
    net, cfg = I.load_module(f)
    assert abs(torch_bpd(net, cfg, mnist) -
               eval_bpd(cli, f, mnist["spec"])) < TOL
    c = tmp_path / "c.safetensors"
    run(cli, "export", "--checkpoint", trained["chain"], "--out", c,
        "--storage", storage)
    a, _ = I.load_state(c, stage=1)
    assert all(a[n].dtype == np.float32 for n in a)


def test_exported_stages_join_into_a_chain(cli, mnist, trained, tmp_path):
    """Stages exported from torch join with pixelcnn chain into a chain
    that evaluates as the one joined from the training checkpoints."""
    files = []
    for k, name in enumerate(("gray0", "gray1")):
        net, cfg = I.load_module(trained[name], ema=True)
        files.append(tmp_path / ("stage%d.safetensors" % k))
        I.export_state_dict(net.state_dict(), cfg, files[-1])
    chain = tmp_path / "chain.safetensors"
    run(cli, "chain", "--out", chain, *files)

    def terms(path):
        out = run(cli, "eval", "--checkpoint", path, "--data", mnist["spec"],
                  "--threads", "1").stdout
        return re.findall(r"per dim of the stage|[0-9]+\.[0-9]+", out)

    got = terms(chain)
    # two stage terms and the colour stage's tightened term
    assert got.count("per dim of the stage") == 3 and len(got) >= 10, got
    assert got == terms(trained["chain"])


def test_export_of_a_loaded_checkpoint_is_exact(cli, mnist, trained,
                                                tmp_path):
    """checkpoint -> torch -> export: the same parameters bit for bit and
    the same bits/dim from pixelcnn eval."""
    net, cfg = I.load_module(trained["classes"])
    out = tmp_path / "again.safetensors"
    I.export_state_dict(net.state_dict(), cfg, out)
    a, _ = I.load_state(trained["classes"])
    b, cfg2 = I.load_state(out)
    assert cfg2 == cfg
    assert list(a) == list(b)
    assert all(np.array_equal(a[n], b[n]) for n in a)
    assert eval_bpd(cli, out, mnist["spec"]) == \
        eval_bpd(cli, trained["classes"], mnist["spec"], "--weights", "raw")


# -------------------------------------------- 2. torch -> our checkpoint


def random_module(cfg, inputs, seed):
    """A module with nontrivial weights: v ~ N(0, 0.05^2), the
    data-dependent init on the inputs, then g scaled by U[0.5, 1.5], b
    shifted by N(0, 0.1^2), class_w ~ N(0, 0.1^2)."""
    net = P.PixelCNNpp(cfg)
    net.init_params(seed)
    n = min(8, len(inputs["x"]))
    sub = {k: None if v is None else torch.as_tensor(v[:n])
           for k, v in inputs.items()}
    net.data_init(sub["x"], sub["labels"], sub["cond"])
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.params.items():
            if name.endswith(".g"):
                p.mul_(torch.rand(p.shape, generator=gen) + 0.5)
            elif name.endswith(".b"):
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".class_w"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    return net.eval()


SMALL = dict(nr_resnet=1, nr_filters=6, nr_mix=2, dropout=0.0)
EXPORT_CASES = {
    # name: (data, config)
    "dmol_rgb": ("cifar", dict(SMALL, channels=3, height=32, width=32,
                               nr_resolutions=3, nr_mix=3)),
    "dmol_rgb_classes": ("cifar", dict(SMALL, channels=3, height=32,
                                       width=32, nr_resolutions=2,
                                       num_classes=10)),
    "categorical_256": ("mnist", dict(SMALL, channels=1, height=8, width=8,
                                      nr_resolutions=2,
                                      head="categorical")),
    "categorical_gray4": ("mnist", dict(SMALL, channels=1, height=8,
                                        width=8, nr_resolutions=2,
                                        head="categorical", levels=16,
                                        view_gray4=1, num_classes=4)),
    "cond_flat_half": ("mnist", dict(SMALL, channels=1, height=8, width=8,
                                     nr_resolutions=2, cond_channels=1,
                                     cond_view_halvings=1)),
    "cond_network": ("mnist", dict(SMALL, channels=1, height=8, width=8,
                                   nr_resolutions=2, cond_channels=1,
                                   cond_view_gray4=1, cond_nr_resnet=2,
                                   cond_nr_filters=4, cond_down=2,
                                   cond_dilate=1)),
    "pyramid_space_to_depth": ("mnist", dict(SMALL, channels=1, height=4,
                                             width=4, nr_resolutions=2,
                                             view_halvings=1,
                                             cond_channels=4,
                                             cond_view_gray4=1,
                                             cond_nr_resnet=1,
                                             cond_nr_filters=3)),
}


@pytest.mark.parametrize("case", sorted(EXPORT_CASES))
def test_exported_module_matches_cli(cli, mnist, cifar, tmp_path, case):
    data = {"mnist": mnist, "cifar": cifar}[EXPORT_CASES[case][0]]
    cfg = P.config(**EXPORT_CASES[case][1])
    inputs = I.stage_inputs(cfg, data["x"], data["labels"])
    net = random_module(cfg, inputs, seed=len(case))
    want = I.bits_per_dim(net, **inputs)
    assert 0.5 < want < 12, want  # a model, not a degenerate one
    path = tmp_path / ("%s.safetensors" % case)
    I.export_state_dict(net.state_dict(), cfg, path)
    run(cli, "info", "--checkpoint", path)
    assert abs(eval_bpd(cli, path, data["spec"]) - want) < TOL
    back, cfg2 = I.load_module(path)
    assert cfg2 == cfg
    assert I.bits_per_dim(back, **inputs) == want


@pytest.mark.parametrize("case", ["dmol_rgb_classes", "cond_network"])
def test_plain_data_init_is_the_librarys(mnist, cifar, case):
    """A plain model's data-dependent init (plain 1, init 0) as the library
    runs it (pcnn_model_data_init, test_param.c): a forward pass after the
    init gives the init pass's output, g = ||v||, the condition map's layers
    keep w = v as drawn, and without them (whose w = v/||v|| under weight
    norm changes what the later layers see) every layer's weight is the
    weight-normalized init's g v/||v|| from the same v."""
    data = {"mnist": mnist, "cifar": cifar}[EXPORT_CASES[case][0]]
    kw = EXPORT_CASES[case][1]
    nets = {}
    for plain in (0, 1):
        cfg = P.config(**dict(kw, plain=plain))
        inputs = I.stage_inputs(cfg, data["x"][:4], data["labels"][:4])
        args = [None if inputs[k] is None else torch.as_tensor(inputs[k])
                for k in ("x", "labels", "cond")]
        net = P.PixelCNNpp(cfg)
        net.init_params(11)
        l = net.data_init(*args)
        with torch.no_grad():
            again = net(*args)
        assert torch.allclose(again, l, rtol=1e-5, atol=1e-5), \
            (plain, (again - l).abs().max().item())
        nets[plain] = net
    checked = 0
    for name, axis in P.weight_norm_axes(nets[1].cfg).items():
        layer = name[:-2]
        wn, pl = nets[0].params, nets[1].params
        if layer.endswith(".cond"):  # (weight norm left v as drawn)
            assert torch.equal(pl[name], wn[name]), name
            assert not pl[layer + ".b"].any(), name
        elif not kw.get("cond_channels"):
            want = T.weight_norm(wn[name], wn[layer + ".g"], axis)
            assert torch.allclose(pl[name], want, rtol=1e-4, atol=1e-6), name
            assert torch.allclose(pl[layer + ".b"], wn[layer + ".b"],
                                  rtol=1e-4, atol=1e-6), name
        dims = [d for d in range(pl[name].dim()) if d != axis]
        assert torch.allclose(pl[layer + ".g"], torch.linalg.vector_norm(
            pl[name], dim=dims), rtol=1e-5), name
        checked += 1
    assert checked == len(P.weight_norm_axes(nets[1].cfg)) > 10


def test_export_takes_arrays_and_other_float_dtypes(cli, mnist, tmp_path):
    """numpy arrays and float64 tensors are stored as float32."""
    cfg = P.config(**EXPORT_CASES["categorical_256"][1])
    inputs = I.stage_inputs(cfg, mnist["x"])
    net = random_module(cfg, inputs, seed=11)
    sd = {n: (t.double() if i % 2 else t.numpy())
          for i, (n, t) in enumerate(net.state_dict().items())}
    path = tmp_path / "mixed.safetensors"
    I.export_state_dict(sd, cfg, path)
    assert abs(eval_bpd(cli, path, mnist["spec"]) -
               I.bits_per_dim(net, **inputs)) < TOL


# ----------------------------------------------------------- 3. errors


@pytest.fixture
def tiny_sd():
    cfg = P.config(channels=1, height=8, width=8, nr_resnet=1, nr_filters=4,
                   nr_mix=2, nr_resolutions=2, num_classes=3)
    net = P.PixelCNNpp(cfg)
    net.init_params(2)
    return {k: v.clone() for k, v in net.state_dict().items()}, cfg


def refused(sd, cfg, path, pattern):
    with pytest.raises(ValueError, match=pattern):
        I.export_state_dict(sd, cfg, path)
    assert not path.exists() and not list(path.parent.glob("*.tmp.*"))


def test_export_refuses_bad_state_dicts(tiny_sd, tmp_path):
    sd, cfg = tiny_sd
    path = tmp_path / "out.safetensors"
    cases = [
        (lambda d: d.pop("out.b"), r'tensor "out\.b" is missing'),
        (lambda d: d.update({"init.u.v": torch.zeros(4, 2, 3, 3)}),
         r'tensor "init\.u\.v" has shape \(4, 2, 3, 3\), expected '
         r'\(4, 2, 2, 3\)'),
        (lambda d: d.update({"up.0.u.0.class_w": torch.zeros(8, 2)}),
         r'tensor "up\.0\.u\.0\.class_w" has shape'),
        (lambda d: d.update({"module.out.b": d["out.b"]}),
         r'tensor "module\.out\.b" is not a parameter of this config '
         r'\(without its prefix "module\." it would be one\)'),
        (lambda d: d["down.0.ul.1.skip.g"].__setitem__(2, float("nan")),
         r'tensor "down\.0\.ul\.1\.skip\.g" holds NaN or Inf'),
        (lambda d: d.update({"out.b": d["out.b"].double().fill_(1e39)}),
         r'tensor "out\.b" holds NaN or Inf \(in float32\)'),
        (lambda d: d["init.ul_right.b"].__setitem__(1, 2e6),
         r'tensor "init\.ul_right\.b" holds 2e\+06, beyond'),
        (lambda d: d["up.0.u_down.v"].__setitem__(3, 0.0),
         r'tensor "up\.0\.u_down\.v": output channel 3 has direction norm'),
        (lambda d: d["down.1.ul_up.v"][:, 2].zero_(),
         r'tensor "down\.1\.ul_up\.v": output channel 2'),
        (lambda d: d.update({"out.g": torch.ones(12, dtype=torch.int32)}),
         r'tensor "out\.g" has dtype torch\.int32'),
    ]
    for edit, pattern in cases:
        d = {k: v.clone() for k, v in sd.items()}
        edit(d)
        refused(d, cfg, path, pattern)


def test_export_refuses_bad_configs(tiny_sd, tmp_path):
    sd, cfg = tiny_sd
    path = tmp_path / "out.safetensors"
    for change, pattern in [
            ({"nr_filters": 0}, r"nr_filters=0 not in 1\.\.4096"),
            ({"bogus": 1}, r"unknown config keys: \['bogus'\]"),
            ({"head": "softmax"}, r"head='softmax'"),
            ({"levels": 16}, r"levels=16: the dmol head has 256"),
            ({"height": 7}, r"height=7 is not divisible by 2"),
            ({"cond_nr_filters": 4}, r"needs cond_channels >= 1"),
            ({"dropout": 1.0}, r"dropout=1\.0 not in \[0, 1\)")]:
        refused(sd, dict(cfg, **change), path, pattern)
    # a valid config of another architecture: the tensors do not fit
    refused(sd, dict(cfg, num_classes=0), path,
            r'tensor "up\.0\.u\.0\.class_w" is not a parameter')


def test_library_and_loader_refuse_the_same_file(cli, tiny_sd, tmp_path):
    """A file with a zero direction (written around the checks) is
    refused by pixelcnn info and by load_module, both naming the tensor;
    the file with a sound direction passes both."""
    sd, cfg = tiny_sd
    meta = {"format": I.CHECKPOINT_FORMAT, "model": "pixelcnn++"}
    meta.update(P.config_to_metadata(cfg, keys=P.CONFIG_KEYS))
    good, bad = tmp_path / "good.safetensors", tmp_path / "bad.safetensors"
    P.write_safetensors(str(good), sd, meta)
    sd = dict(sd, **{"out.v": sd["out.v"].clone()})
    sd["out.v"][5] = 0
    P.write_safetensors(str(bad), sd, meta)
    run(cli, "info", "--checkpoint", good)
    I.load_module(good)
    r = run(cli, "info", "--checkpoint", bad, ok=False)
    assert r.returncode != 0 and "out.v" in r.stderr, r.stderr
    with pytest.raises(I.InteropError, match=r'tensor "out\.v": output '
                       r'channel 5'):
        I.load_module(bad)


def test_load_refuses_bad_files(trained, tiny_sd, tmp_path):
    sd, cfg = tiny_sd
    path = tmp_path / "export.safetensors"
    I.export_state_dict(sd, cfg, path)
    with pytest.raises(I.InteropError, match="no EMA weights"):
        I.load_module(path, ema=True)
    with pytest.raises(I.InteropError, match="one stage; stage=1"):
        I.load_module(path, stage=1)
    with pytest.raises(I.InteropError, match="a chain of 2 stages: give "
                       "stage="):
        I.load_module(trained["chain"])
    with pytest.raises(I.InteropError, match=r"stage 2 not in 0\.\.1"):
        I.load_module(trained["chain"], stage=2)
    with pytest.raises(I.InteropError, match="holds one set of weights"):
        I.load_module(trained["chain"], stage=0, ema=True)
    other = tmp_path / "other.safetensors"
    tensors, meta = P.read_safetensors(str(path))
    for change, pattern in [
            ({"format": "something-else"}, r'"format" = .something-else. '
             r'is neither'),
            ({"nr_mix": "2x"}, r'metadata "nr_mix" = "2x" is not a number'),
            ({"nr_resnet": None}, r'metadata has no "nr_resnet"')]:
        m = {k: v for k, v in dict(meta, **change).items() if v is not None}
        P.write_safetensors(str(other), tensors, m)
        with pytest.raises(I.InteropError, match=pattern):
            I.load_module(other)
    P.write_safetensors(str(other), dict(tensors, extra=np.zeros(2,
                                                                np.float32)),
                        meta)
    with pytest.raises(I.InteropError, match=r'tensor "extra" is not a '
                       r'parameter'):
        I.load_module(other)
    other.write_bytes(path.read_bytes()[:100])
    with pytest.raises(I.InteropError, match="header length"):
        I.load_module(other)


def test_stage_inputs_views():
    """half rounds half up, gray4 truncates, cond maps tile or fold."""
    x = np.array([[[[0, 1], [1, 1]]]], dtype=np.uint8)
    assert I.half(x).item() == 1  # (3 + 2) // 4
    rgb = np.full((1, 3, 1, 1), 255, dtype=np.uint8)
    assert I.gray4(rgb).item() == 15
    assert I.gray4(np.array([[[[31]]]], dtype=np.uint8)).item() == 1
    c = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    tiled = I.cond_map(c[:, :, :2, :2], 256, 4, 4)
    assert tiled.shape == (1, 1, 4, 4) and tiled[0, 0, 1, 1] == -1.0
    folded = I.cond_map(c, 16, 2, 2)  # (c f + dy) f + dx
    assert folded.shape == (1, 4, 2, 2)
    assert folded[0, 1, 1, 0] * 7.5 + 7.5 == pytest.approx(c[0, 0, 2, 1])
    with pytest.raises(NotImplementedError, match="Lab views"):
        I.stage_inputs(P.config(channels=1, view_lab=1), x)
