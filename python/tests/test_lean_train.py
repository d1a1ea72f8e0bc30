"""twin/lean_train.py, the PyTorch peer of the equal-budget table
(`make bench-quality`, docs/training.md), against `pixelcnn train` on the
same CIFAR-10-format files: from a checkpoint of ours (--init-from) and a
learning rate too small to move the weights, its per-step training
bits/dim and gradient norms are ours, step by step (the same network and
the library's batch order), and its evaluation is `pixelcnn eval`'s. Its
--bf16 path (autocast) trains within bf16 rounding of fp32, and is not
fp32 in disguise."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, cli, color_images, number, write_cifar

pytest.importorskip(
    "torch", reason="PyTorch is not installed (Debian: python3-torch)")

LEAN = os.path.join(ROOT, "twin", "lean_train.py")
# a model both build: 3 resolutions (the peer's only choice), no dropout
MODEL = ["--nr-resnet", 1, "--nr-filters", 8, "--nr-mix", 2, "--batch", 8]
LR = 1e-8  # the smallest --lr the CLI takes: weights move by about 1e-8


@pytest.fixture(scope="module")
def run(tmp_path_factory, have_cli):
    """32 training and 8 test images in CIFAR-10's files, and 4 steps of
    `pixelcnn train` (a new run's recipe) with their metrics."""
    d = tmp_path_factory.mktemp("lean")
    x = color_images(40, 5)
    write_cifar(str(d / "data_batch_1.bin"), x[:32], np.arange(32) % 10)
    write_cifar(str(d / "test_batch.bin"), x[32:], np.arange(8) % 10)
    cli("train", "--data", "cifar10:%s" % d, "--out", d / "run", *MODEL,
        "--dropout", 0, "--steps", 4, "--lr", LR, "--log-every", 1,
        "--no-test", "--threads", 1)
    with open(d / "run" / "metrics.jsonl") as f:
        ours = [json.loads(line) for line in f]
    return type("Run", (), dict(dir=d, ours=ours,
                                ckpt=d / "run" / "checkpoint.safetensors"))


def lean(run, out, *flags):
    """lean_train.py from our checkpoint: its JSON result and its per-step
    CSV rows."""
    args = [LEAN, "--data", run.dir, "--init-from", run.ckpt, *MODEL,
            "--steps", 4, "--lr", LR, "--csv", out, *flags]
    p = subprocess.run(
        [sys.executable] + [str(a) for a in args],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0, p.stderr
    with open(out) as f:
        rows = list(csv.DictReader(f))
    return json.loads(p.stdout.strip().splitlines()[-1]), rows


def test_peer_trains_our_network_on_our_batches(run, tmp_path):
    r, rows = lean(run, tmp_path / "f32.csv")
    assert r["steps"] == 4 and not r["bf16"] and r["test_images"] == 8
    assert len(rows) == len(run.ours) == 4
    for mine, peer in zip(run.ours, rows):
        assert int(peer["step"]) == mine["step"]
        assert abs(float(peer["bpd"]) - mine["bpd"]) < 1e-5, (mine, peer)
        assert abs(float(peer["grad_norm"]) - mine["grad_norm"]) < \
            1e-5 * mine["grad_norm"], (mine, peer)
    # the batches differ: a peer in another order would match step 1 only
    assert len({round(m["bpd"], 4) for m in run.ours}) == 4
    want = number(r"^bits/dim: ([0-9.]+)",
                  cli("eval", "--checkpoint", run.ckpt, "--data",
                      "cifar10:%s" % run.dir, "--threads", 1))
    assert abs(r["test_bpd_ema"] - want) < 1e-4


def test_peer_bf16_is_fp32_within_bf16_rounding(run, tmp_path):
    _, f32 = lean(run, tmp_path / "f32.csv")
    r, bf16 = lean(run, tmp_path / "bf16.csv", "--bf16")
    assert r["bf16"] and r["steps"] == 4
    gaps = [abs(float(a["bpd"]) - float(b["bpd"])) for a, b in zip(f32, bf16)]
    # bf16 keeps 8 bits of mantissa: about 3e-4 of 9 bits/dim measured
    assert 1e-6 < max(gaps) < 0.01, gaps
