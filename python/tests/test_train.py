"""Trainer and train() against `pixelcnn train` on the same data: the same
weights bit for bit (one thread), checkpoints each side reads and resumes,
and the progress callback that reports and stops a run."""
import os

import numpy as np
import pytest

import pixelcnn
from pixelcnn import _lib
from pixelcnn._util import config_dict
from conftest import TINY, TINY_FLAGS, cli, number


def same_weights(a, b, ema):
    with pixelcnn.Chain(a, ema=ema) as x, pixelcnn.Chain(b, ema=ema) as y:
        assert x.configs == y.configs
        p, q = x.parameters(), y.parameters()
    assert p.keys() == q.keys() and len(p) > 10
    for k in p:
        np.testing.assert_array_equal(p[k], q[k], err_msg=k)


def cli_train(data, out, *flags):
    cli("train", "--data", data.spec, "--out", out, "--no-test",
        *TINY_FLAGS, *flags)
    return os.path.join(str(out), "checkpoint.safetensors")


def test_default_config_is_the_clis():
    """default_config() is `pixelcnn train`'s start: the paper's model
    (pcnn_model_config_default) with plain weights, the uniform init and
    a conditioning network of 2 resnets and one halving."""
    d = pixelcnn.default_config()
    paper = config_dict(_lib.lib.pcnn_model_config_default())
    changed = {k: v for k, v in d.items() if v != paper[k]}
    assert changed == dict(plain=1, init=1, cond_nr_resnet=2, cond_down=1)


# the default recipe (plain weights, uniform init) and PixelCNN++'s
@pytest.mark.parametrize("recipe", ["default", "pixelcnn++"])
def test_trainer_matches_cli(tmp_path, data, recipe):
    old = recipe == "pixelcnn++"
    flags = ("--param", "weightnorm", "--init", "data") if old else ()
    ref = cli_train(data, tmp_path / "cli", "--steps", 12, "--seed", 4,
                    *flags)
    config = dict(TINY, plain=0, init=0) if old else TINY
    t = pixelcnn.Trainer(data.train, config, labels=data.train_labels,
                         options=dict(batch=8, seed=4), threads=1)
    assert t.config["channels"] == 1 and t.config["height"] == 8
    assert (t.config["plain"], t.config["init"]) == ((0, 0) if old
                                                     else (1, 1))
    assert t.options["batch"] == 8 and t.options["lr"] == 0.001
    r = t.run(steps=12)
    assert r["step"] == 12 and not r["stopped"] and 4 < r["bpd"] < 10
    assert t.state == {"step": 12, "epoch": 1, "pos": 32}
    mine = str(tmp_path / "py.safetensors")
    t.save(mine)
    same_weights(ref, mine, ema=False)
    same_weights(ref, mine, ema=True)
    # the trainer's own evaluation (EMA weights) is the CLI's eval
    out = cli("eval", "--checkpoint", mine, "--data", data.spec,
              "--threads", 1)
    assert t.evaluate(data.test).bits_per_dim == pytest.approx(
        number(r"bits/dim: ([\d.]+)", out), abs=6e-5)
    t.close()


def test_class_conditional_matches_cli(tmp_path, data):
    ref = cli_train(data, tmp_path / "cli", "--steps", 5,
                    "--class-conditional")
    with pixelcnn.Trainer(data.train, TINY, labels=data.train_labels,
                          class_conditional=True,
                          options=dict(batch=8), threads=1) as t:
        assert t.config["num_classes"] == 4
        t.run(steps=5)
        mine = str(tmp_path / "py.safetensors")
        t.save(mine)
    same_weights(ref, mine, ema=True)
    npy = tmp_path / "s.npy"
    cli("sample", "--checkpoint", mine, "-n", 3, "--class", 2, "-o", npy,
        "--threads", 1)
    out = cli("eval", "--checkpoint", mine, "--data", data.spec,
              "--threads", 1)
    with pixelcnn.Chain(mine, threads=1) as m:
        np.testing.assert_array_equal(m.sample(3, labels=2), np.load(npy))
        r = m.evaluate(data.test, labels=data.test_labels)
        with pytest.raises(pixelcnn.PixelCNNError, match="labels"):
            m.evaluate(data.test)
    assert r.bits_per_dim == pytest.approx(
        number(r"bits/dim: ([\d.]+)", out), abs=6e-5)


@pytest.mark.parametrize("chain,stage", [("pyramid", 1), ("gray", 0),
                                         ("gray", 1)])
def test_stage_matches_cli(tmp_path, data, chain, stage):
    ref = cli_train(data, tmp_path / "cli", "--steps", 3, "--chain", chain,
                    "--stage", stage, "--halvings", 1) if chain == "pyramid" \
        else cli_train(data, tmp_path / "cli", "--steps", 3, "--chain", chain,
                       "--stage", stage)
    views = {("pyramid", 1): ("x", "half"), ("gray", 0): ("gray4", None),
             ("gray", 1): ("x", "gray4")}[chain, stage]
    cfg = dict(TINY, view=views[0])
    if views[1]:
        cfg["cond_view"] = views[1]
    with pixelcnn.Trainer(data.train, cfg, labels=data.train_labels,
                          options=dict(batch=8), threads=1) as t:
        t.run(steps=3)
        mine = str(tmp_path / "py.safetensors")
        t.save(mine)
    same_weights(ref, mine, ema=False)


def test_colorizer_matches_cli(tmp_path, colorizer):
    cfg = dict(nr_resnet=1, nr_filters=8, nr_mix=2, nr_resolutions=2,
               dropout=0, view="ab,half", cond_view="L", cond_nr_resnet=1)
    with pixelcnn.Trainer(colorizer.images, cfg,
                          labels=np.arange(8) % 10, num_classes=10,
                          options=dict(batch=4), threads=1) as t:
        assert t.config["cond_channels"] == 4  # L at 32x32, space to depth
        t.run(steps=3)
        mine = str(tmp_path / "py.safetensors")
        t.save(mine)
    same_weights(colorizer.path, mine, ema=False)


def test_resume_continues_exactly_both_ways(tmp_path, data):
    straight = cli_train(data, tmp_path / "straight", "--steps", 10)
    # 4 steps here, 6 more by the CLI's --resume
    run = tmp_path / "run"
    os.makedirs(run)
    ck = str(run / "checkpoint.safetensors")
    pixelcnn.train(data.train, TINY, steps=4, labels=data.train_labels,
                   options=dict(batch=8), checkpoint=ck, threads=1).close()
    cli_train(data, run, "--steps", 10, "--resume")
    same_weights(straight, ck, ema=True)
    # and 4 steps by the CLI, 6 more here
    run2 = tmp_path / "run2"
    ck2 = cli_train(data, run2, "--steps", 4)
    with pixelcnn.Trainer.resume(ck2, data.train, labels=data.train_labels,
                                 threads=1) as t:
        assert t.step_count == 4
        t.run(steps=10, checkpoint=ck2)
    same_weights(straight, ck2, ema=True)


def test_reset_ema_matches_cli(tmp_path, data):
    # 4 steps, then 3 more after restarting the EMA: by the CLI's
    # --resume --reset-ema and by Trainer.reset_ema, the same EMA weights
    ref = cli_train(data, tmp_path / "cli", "--steps", 4)
    cli_train(data, tmp_path / "cli", "--steps", 7, "--resume", "--reset-ema")
    mine = cli_train(data, tmp_path / "py", "--steps", 4)
    with pixelcnn.Trainer.resume(mine, data.train, labels=data.train_labels,
                                 threads=1) as t:
        t.reset_ema()
        t.run(steps=7, checkpoint=mine)
    same_weights(ref, mine, ema=True)
    # without the reset the average differs: the test can fail
    plain = cli_train(data, tmp_path / "plain", "--steps", 7)
    with pytest.raises(AssertionError):
        same_weights(ref, plain, ema=True)


def test_resume_refuses_other_data(data, model):
    # the CLI trained on the images with their labels: other images, or
    # the same without labels, are other data
    for x, labels in ((data.train[::-1], data.train_labels),
                      (data.train, None), (data.train[:32], None)):
        with pytest.raises(pixelcnn.PixelCNNError) as e:
            pixelcnn.Trainer.resume(model, x, labels=labels, threads=1)
        assert e.value.status_name == "bad argument"
        assert model in str(e.value)
    pixelcnn.Trainer.resume(model, data.train, labels=data.train_labels)


def test_progress_reports_and_stops(tmp_path, data):
    seen = []

    def progress(job, done, total, value):
        seen.append((job, done, total, value))
        return done >= 3

    ck = str(tmp_path / "p.safetensors")
    with pixelcnn.train(data.train, TINY, steps=50, progress=progress,
                        options=dict(batch=8), checkpoint=ck,
                        threads=1) as t:
        assert t.step_count == 3
    assert [s[:3] for s in seen] == [("train", k, 50) for k in (1, 2, 3)]
    assert all(4 < s[3] < 12 for s in seen)
    with pixelcnn.Chain(ck) as m:  # saved where it stopped
        assert m.configs[0]["nr_filters"] == 8
    assert pixelcnn.Trainer.resume(ck, data.train).step_count == 3


def test_progress_exception_propagates(data):
    def progress(job, done, total, value):
        if done == 2:
            raise KeyboardInterrupt
    t = pixelcnn.Trainer(data.train, TINY, options=dict(batch=8), threads=1)
    with pytest.raises(KeyboardInterrupt):
        t.run(steps=10, progress=progress)
    assert t.step_count == 2  # the trainer stays consistent
    t.run(steps=3)
    assert t.step_count == 3
    t.close()


def test_save_every(tmp_path, data):
    ck = str(tmp_path / "e.safetensors")
    saved = []

    def progress(job, done, total, value):
        if os.path.exists(ck):
            saved.append((done, pixelcnn.Trainer.resume(
                ck, data.train).step_count))
    pixelcnn.train(data.train, TINY, steps=7, options=dict(batch=8),
                   checkpoint=ck, save_every=3, progress=progress).close()
    # seen after the step that follows each save
    assert saved == [(4, 3), (5, 3), (6, 3), (7, 6)]


def test_compute_bf16_matches_cli_or_fails_like_it(tmp_path, data):
    """compute="bf16" trains as `pixelcnn train --compute bf16` does, bit
    for bit; where bf16 cannot run, both refuse it with the same reason."""
    with pytest.raises(pixelcnn.PixelCNNError, match="compute 'f16'"):
        pixelcnn.Trainer(data.train, TINY, threads=1, compute="f16")
    p = cli("train", "--data", data.spec, "--out", tmp_path / "cli",
            "--no-test", *TINY_FLAGS, "--steps", 6, "--seed", 4, "--compute",
            "bf16", ok=False)
    if p.returncode:
        assert "--compute bf16:" in p.stderr
        with pytest.raises(pixelcnn.PixelCNNError) as e:
            pixelcnn.Trainer(data.train, TINY, threads=1, compute="bf16")
        assert e.value.status_name == "unsupported" or \
            e.value.message in p.stderr
        return
    t = pixelcnn.Trainer(data.train, TINY, labels=data.train_labels,
                         options=dict(batch=8, seed=4), threads=1,
                         compute="bf16")
    t.run(steps=6)
    mine = str(tmp_path / "py.safetensors")
    t.save(mine)
    t.close()
    ref = os.path.join(str(tmp_path / "cli"), "checkpoint.safetensors")
    same_weights(ref, mine, ema=False)
    # and bf16 is not f32: the f32 run's weights differ
    f32 = cli_train(data, tmp_path / "f32", "--steps", 6, "--seed", 4)
    with pixelcnn.Chain(f32, ema=False) as x, \
            pixelcnn.Chain(ref, ema=False, compute="bf16") as y:
        p, q = x.parameters(), y.parameters()
    assert any(not np.array_equal(p[k], q[k]) for k in p)
