"""Fixtures of the Python package's tests: the in-tree package, the CLI
(PCNN_CLI or build/pixelcnn), tiny data sets in the CLI's formats, and
tiny models trained by the CLI, so each test can run one job both ways on
the same inputs and compare."""
import os
import re
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

# the tiny model of the C tests (tests/cli_util.h), one thread: runs are
# bit for bit the same in the CLI and here
TINY = dict(nr_resnet=1, nr_filters=8, nr_mix=2, nr_resolutions=2,
            dropout=0.2)
TINY_FLAGS = ("--nr-resnet 1 --nr-filters 8 --nr-mix 2 --nr-resolutions 2 "
              "--dropout 0.2 --batch 8 --threads 1").split()


def cli_path():
    return os.environ.get("PCNN_CLI") or os.path.join(ROOT, "build",
                                                      "pixelcnn")


def cli(*args, ok=True):
    """Runs the CLI; its stdout (ok: asserting exit status 0), or the
    CompletedProcess when ok is False."""
    p = subprocess.run([cli_path()] + [str(a) for a in args],
                       capture_output=True, text=True)
    if not ok:
        return p
    assert p.returncode == 0, "pixelcnn %s: %s%s" % (" ".join(
        map(str, args)), p.stdout, p.stderr)
    return p.stdout


def number(pattern, text):
    """The float group of regex pattern in text."""
    m = re.search(pattern, text)
    assert m, "%r not in %r" % (pattern, text)
    return float(m.group(1))


# ------------------------------------------------------------- data files

def gray_images(n, seed, side=8):
    """n gray side x side images with structure (a ramp per image) and
    noise, so a few training steps learn something."""
    rng = np.random.default_rng(seed)
    ramp = np.arange(side * side).reshape(side, side) * (192 // (side * side)
                                                         or 1)
    x = ramp[None] + rng.integers(0, 64, (n, side, side))
    return x.clip(0, 255).astype(np.uint8)[:, None]


def color_images(n, seed, side=32):
    """n RGB images of smooth colored patterns with noise."""
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    out = np.zeros((n, 3, side, side))
    for k in range(n):
        a, b, c = rng.uniform(0, 6.3, 3)
        out[k, 0] = 128 + 100 * np.sin(i / 5 + a)
        out[k, 1] = 128 + 100 * np.sin(j / 7 + b)
        out[k, 2] = 128 + 100 * np.sin((i + j) / 9 + c)
    out += rng.integers(-10, 10, out.shape)
    return out.clip(0, 255).astype(np.uint8)


def write_idx(folder, prefix, x, labels):
    """MNIST's IDX files: prefix-images-idx3-ubyte, prefix-labels-..."""
    n, _, h, w = x.shape
    with open(os.path.join(folder, prefix + "-images-idx3-ubyte"), "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", n, h, w))
        f.write(x.tobytes())
    with open(os.path.join(folder, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", n))
        f.write(labels.astype(np.uint8).tobytes())


def write_cifar(path, x, labels):
    """CIFAR-10's binary records: a label byte, then 3 x 32 x 32."""
    with open(path, "wb") as f:
        for img, lab in zip(x, labels):
            f.write(bytes([int(lab)]) + img.tobytes())


def read_png(path):
    """An 8-bit RGB or gray PNG (as stb_image_write writes them) as a
    (3 or 1, H, W) uint8 array: chunks, inflate, the five row filters."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype = hdr[:4]
    assert depth == 8 and ctype in (0, 2) and hdr[6] == 0
    bpp = 3 if ctype == 2 else 1
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int64)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride,
                             y * (stride + 1) + 1).astype(np.int64)
        cur = np.zeros(stride, np.int64)
        for x in range(stride):
            a = cur[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 0:
                pred = 0
            elif f == 1:
                pred = a
            elif f == 2:
                pred = b
            elif f == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            cur[x] = (line[x] + pred) & 255
        out[y] = cur
        prev = cur
    return out.reshape(h, w, bpp).transpose(2, 0, 1)


def grid_cell(grid, row, col, h, w, gap=2):
    """Image (row, col) of a CLI grid at scale 1 (tools/grid.c)."""
    y0, x0 = gap + row * (h + gap), gap + col * (w + gap)
    return grid[:, y0:y0 + h, x0:x0 + w]


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def have_cli():
    if not os.path.exists(cli_path()):
        pytest.skip("no %s (build it with make)" % cli_path())
    return cli_path()


@pytest.fixture(scope="session")
def data(tmp_path_factory, have_cli):
    """The gray data set in the CLI's IDX files: 64 train and 16 test
    images of 8x8, 4 classes; the arrays as .train, .test, ...labels."""
    d = tmp_path_factory.mktemp("mnist")
    train, test = gray_images(64, 1), gray_images(16, 2)
    ltrain, ltest = np.arange(64) % 4, np.arange(16) % 4
    write_idx(str(d), "train", train, ltrain)
    write_idx(str(d), "t10k", test, ltest)
    return type("Data", (), dict(spec="mnist:%s" % d, dir=str(d),
                                 train=train, test=test,
                                 train_labels=ltrain, test_labels=ltest))


@pytest.fixture(scope="session")
def model(tmp_path_factory, data):
    """A tiny unconditional model trained 20 steps by the CLI."""
    out = tmp_path_factory.mktemp("model")
    cli("train", "--data", data.spec, "--out", out, "--steps", 20,
        "--no-test", *TINY_FLAGS)
    return str(out / "checkpoint.safetensors")


@pytest.fixture(scope="session")
def pyramid(tmp_path_factory, data):
    """A two-stage pyramid chain (half(x), then x given half(x)) trained by
    the CLI: its chain file and stage files."""
    out = tmp_path_factory.mktemp("pyramid")
    stages = []
    for k in range(2):
        cli("train", "--data", data.spec, "--out", out / ("s%d" % k),
            "--chain", "pyramid", "--halvings", 1, "--stage", k,
            "--steps", 6, "--no-test", *TINY_FLAGS,
            *(["--cond-nr-resnet", 1] if k else []))
        stages.append(str(out / ("s%d" % k) / "checkpoint.safetensors"))
    path = str(out / "chain.safetensors")
    cli("chain", "--out", path, *stages)
    return type("Pyramid", (), dict(path=path, stages=stages))


@pytest.fixture(scope="session")
def colorizer(tmp_path_factory, have_cli):
    """A chroma-given-lightness model (--view ab,half --cond-view L) of
    32x32 RGB images in a CIFAR-10 file, trained 3 steps by the CLI."""
    out = tmp_path_factory.mktemp("colorize")
    x = color_images(8, 3)
    data = str(out / "colors.bin")
    write_cifar(data, x, np.arange(8) % 10)
    cli("train", "--data", "cifar10:" + data, "--out", out / "run",
        "--view", "ab,half", "--cond-view", "L", "--cond-nr-resnet", 1,
        "--cond-down", 1, "--steps", 3, "--no-test", "--nr-resnet", 1,
        "--nr-filters", 8, "--nr-mix", 2, "--nr-resolutions", 2,
        "--dropout", 0, "--batch", 4, "--threads", 1)
    return type("Colorizer", (), dict(
        path=str(out / "run" / "checkpoint.safetensors"), images=x,
        spec="cifar10:" + data))
