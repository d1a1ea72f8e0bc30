"""Trainer and train(): a model (a stage of a chain, or a plain PixelCNN++)
trained on NumPy images, with a progress callback that can stop the run,
checkpoints the CLI reads, and exact resumption."""
import ctypes
import math
import os
import time

import numpy as np

from . import _lib
from ._lib import ERR_ARG, check, fail, lib
from ._util import (Context, Dataset, Owner, Progress, config_dict,
                    config_struct, f32, images as _images)
from .chain import evaluate_with

# the option names of pcnn_train_opts
OPTION_KEYS = tuple(n for n, _ in _lib.TrainOpts._fields_)


def default_config():
    """The model config a new run starts from, as `pixelcnn train`'s
    (pcnn_train_config_default): the paper's CIFAR-10 architecture, a
    conditioning network of 2 resnets and one halving when the model is
    conditioned, plain weights and PyTorch's uniform init (plain 1, init 1;
    docs/training.md). Shape, head and conditioning channels follow from
    the data and the views."""
    cfg = config_dict(lib.pcnn_train_config_default())
    cfg.update(cond_nr_resnet=2, cond_down=1)
    return cfg


def default_options():
    """pcnn_train_opts_default() as a dict."""
    o = lib.pcnn_train_opts_default()
    return _options_dict(o)


def _options_dict(o):
    return {k: f32(getattr(o, k)) if isinstance(getattr(o, k), float)
            else getattr(o, k) for k in OPTION_KEYS}


def _options_struct(options):
    o = lib.pcnn_train_opts_default()
    for k, v in (options or {}).items():
        if k not in OPTION_KEYS:
            raise fail(ERR_ARG, "Trainer: unknown option %r (%s)"
                       % (k, ", ".join(OPTION_KEYS)))
        setattr(o, k, float(v) if isinstance(getattr(o, k), float)
                else int(v))
    return o


def _stage_config(cfg, x, has_cond):
    """The fields of cfg that follow from its views on images x (N, C, H,
    W): shape, head and levels, condition channels (pcnn_stage_config)."""
    check(lib.pcnn_stage_config(ctypes.byref(cfg), ctypes.byref(cfg.view),
                                ctypes.byref(cfg.cond_view) if has_cond
                                else None, *np.shape(x)[1:]))


def _stage_data(images, labels, num_classes, cfg, has_cond):
    d = Dataset(images, labels, num_classes, what="Trainer")
    v = cfg.view
    if v.halvings or v.gray4 or v.lab or has_cond:
        d.stage(v, cfg.cond_view if has_cond else None)
    return d


class Trainer(Owner):
    """Trains one model on images X (N, C, H, W) uint8 (labels (N) for a
    class-conditional model).

    config   model fields over default_config(): nr_resnet, nr_filters,
             nr_mix, nr_resolutions, dropout, ...; "view" and "cond_view"
             (dicts or the CLI's strings: "half", "half,gray4", "ab,half",
             "L") make it a stage of a chain modelling view(X) given
             cond_view(X). Shape, head and condition channels are derived.
    labels, num_classes
             the images' labels (N) and their count (0: the largest label
             + 1), kept with the data as the CLI's loaders keep them (a
             checkpoint records a fingerprint of images and labels)
    class_conditional
             True: the model learns p(x | label) over the labels' classes
    options  pcnn_train_opts fields: lr, lr_decay, beta1, beta2, ema,
             batch, seed (data order, dropout and the initial weights),
             flip
    threads  the context's threads (<= 0: all cores); a run continues
             bit for bit on the same machine and thread count
    compute  "f32" or "bf16": the GEMMs' arithmetic (Context); the
             weights and the optimizer stay fp32

    With config init 0 (PixelCNN++'s recipe, with plain 0) the first
    batch initializes the weights (data-dependent init); the default,
    init 1, starts from PyTorch's uniform init. Resume a saved run with
    Trainer.resume(path, images)."""

    def __init__(self, images, config=None, labels=None, num_classes=0,
                 class_conditional=False, options=None, threads=0,
                 _resume=None, compute="f32"):
        self._model = _lib.P()
        self._t = _lib.P()
        self._ctx = Context(threads, compute)
        if _resume is not None:
            self._open_saved(_resume, images, labels, num_classes)
            return
        config = dict(config or {})
        has_cond = "cond_view" in config
        cfg = config_struct(dict(default_config(), **config),
                            lib.pcnn_train_config_default(), "Trainer")
        if class_conditional and labels is None:
            raise fail(ERR_ARG, "Trainer: class_conditional needs labels")
        images = _images(images, "Trainer")
        _stage_config(cfg, images, has_cond)
        self._data = _stage_data(images, labels, num_classes, cfg, has_cond)
        cfg.num_classes = self._data.d.num_classes if class_conditional \
            else 0
        o = _options_struct(options)
        check(lib.pcnn_model_create(ctypes.byref(self._model),
                                    ctypes.byref(cfg), o.seed))
        check(lib.pcnn_trainer_create(ctypes.byref(self._t), self._model,
                                      ctypes.byref(self._data.d),
                                      ctypes.byref(o)))
        check(lib.pcnn_trainer_init(self._ctx.p, self._t))

    @classmethod
    def resume(cls, path, images, labels=None, num_classes=0, threads=0,
               compute="f32"):
        """The run saved in checkpoint `path`, on the same images and
        labels it was trained on (the library checks their fingerprint):
        it continues exactly."""
        return cls(images, labels=labels, num_classes=num_classes,
                   threads=threads, _resume=os.fspath(path),
                   compute=compute)

    def _open_saved(self, path, images, labels, num_classes):
        cfg = _lib.ModelConfig()
        has = ctypes.c_int()
        b = path.encode()
        check(lib.pcnn_checkpoint_read_state(b, ctypes.byref(cfg), None, None,
                                             ctypes.byref(has)))
        if not has.value:
            raise fail(ERR_ARG, "Trainer.resume: %s holds no training state "
                       "(an exported model?): it cannot be resumed" % path)
        self._data = _stage_data(images, labels, num_classes, cfg,
                                 cfg.cond_channels > 0)
        check(lib.pcnn_checkpoint_load_model(b, 0,
                                             ctypes.byref(self._model)))
        check(lib.pcnn_checkpoint_load_trainer(b, self._model,
                                               ctypes.byref(self._data.d),
                                               ctypes.byref(self._t)))

    # ------------------------------------------------------------ state
    def _live(self):
        if not self._t:
            raise fail(ERR_ARG, "Trainer: closed")

    @property
    def config(self):
        """The model's config as a dict."""
        self._live()
        return config_dict(lib.pcnn_model_get_config(self._model).contents)

    @property
    def options(self):
        self._live()
        return _options_dict(lib.pcnn_trainer_opts(self._t))

    @property
    def state(self):
        """{"step", "epoch", "pos"}: steps done, the current pass over the
        data and the next item of its order."""
        self._live()
        s = lib.pcnn_trainer_state(self._t)
        return {"step": s.step, "epoch": s.epoch, "pos": s.pos}

    @property
    def step_count(self):
        return self.state["step"]

    # --------------------------------------------------------- training
    def step(self):
        """One optimizer step: {"bpd", "grad_norm", "lr"} of its batch. A
        non-finite loss raises PixelCNNError and changes nothing."""
        self._live()
        st = _lib.StepStats()
        check(lib.pcnn_trainer_step(self._ctx.p, self._t, ctypes.byref(st)))
        return {"bpd": st.bpd, "grad_norm": st.grad_norm, "lr": st.lr}

    def reset_ema(self):
        """Restarts the EMA from the model's current weights (`pixelcnn
        train --resume --reset-ema`): for a run whose average still holds
        weights it has since left far behind."""
        self._live()
        lib.pcnn_trainer_reset_ema(self._t)

    def run(self, steps=0, seconds=0, progress=None, checkpoint=None,
            save_every=0):
        """Steps until the step count reaches `steps` (0: no limit),
        `seconds` of wall time pass (<= 0: no limit), or progress(job,
        done, total, value) returns True -- called after every step with
        ("train", step, steps, that step's bits/dim); the step in flight
        finishes, so the run can be saved and resumed exactly
        (pcnn_trainer_run). With checkpoint, saves there every save_every
        steps (0: never) and at the end. Returns {"step", "bpd",
        "grad_norm", "lr", "stopped"}: the last step's figures (NaN when no
        step ran) and whether progress stopped the run."""
        self._live()
        if not steps and not (seconds and seconds > 0) and progress is None:
            raise fail(ERR_ARG, "Trainer.run: no steps, seconds or "
                       "progress to end the run")
        pr = Progress(progress)
        c_pr = pr.struct()
        st = _lib.StepStats(math.nan, math.nan, math.nan)
        t0 = time.monotonic()
        chunks = bool(checkpoint and save_every)  # one run per save
        stopped = False
        while not stopped:
            now = self.step_count
            left = seconds - (time.monotonic() - t0) if seconds > 0 else 0
            if (steps and now >= steps) or (seconds > 0 and left <= 0):
                break
            target = steps
            if chunks:
                target = (now // save_every + 1) * save_every
                target = min(target, steps) if steps else target
            status = lib.pcnn_trainer_run(self._ctx.p, self._t, target,
                                          left, ctypes.byref(c_pr),
                                          ctypes.byref(st))
            pr.reraise()
            stopped = status == _lib.ERR_CANCELLED
            if not stopped:
                check(status)
            if chunks and self.step_count % save_every == 0 and \
                    self.step_count != now:
                self.save(checkpoint)
            if not chunks:  # the run went to its limits
                break
        if checkpoint:
            self.save(checkpoint)
        return {"bpd": st.bpd, "grad_norm": st.grad_norm, "lr": st.lr,
                "step": self.step_count, "stopped": stopped}

    def save(self, path):
        """The model, its EMA weights, the optimizer and the data position
        in a checkpoint (atomically), which pixelcnn and Chain read and
        Trainer.resume continues."""
        self._live()
        check(lib.pcnn_checkpoint_save(os.fspath(path).encode(),
                                       self._model, self._t))

    def evaluate(self, x, labels=None, ema=True, batch=100, limit=0,
                 progress=None):
        """Bits/dim of the model (its EMA weights when ema) on images X
        (N, C, H, W) of the run's kind, its views taken inside, as
        Chain.evaluate (pcnn_trainer_evaluate): the periodic test figure
        of a run. Returns an Evaluation."""
        self._live()
        cfg = lib.pcnn_model_get_config(self._model).contents
        with Dataset(x, labels, cfg.num_classes,
                     what="Trainer.evaluate") as d:
            return evaluate_with(
                lambda o, r: lib.pcnn_trainer_evaluate(
                    self._ctx.p, self._t, int(bool(ema)), ctypes.byref(d.d),
                    o, r), d.d.n, 1, batch, limit, progress)

    def close(self):
        if getattr(self, "_t", None):
            lib.pcnn_trainer_free(self._t)
            self._t = _lib.P()
        if getattr(self, "_model", None):
            lib.pcnn_model_free(self._model)
            self._model = _lib.P()
        if hasattr(self, "_ctx"):
            self._ctx.close()


def train(images, config=None, steps=0, labels=None, num_classes=0,
          class_conditional=False, options=None, checkpoint=None,
          save_every=0, seconds=0, progress=None, resume=False, threads=0,
          compute="f32"):
    """A run in one call, as `pixelcnn train`: a new model of `config` on
    images (or, with resume=True and an existing checkpoint, the saved run
    continued), trained until `steps` steps in all or `seconds` pass or
    progress returns True, saved to checkpoint every save_every steps and
    at the end. Returns the Trainer (close it when done)."""
    if resume and checkpoint and os.path.exists(checkpoint):
        t = Trainer.resume(checkpoint, images, labels=labels,
                           num_classes=num_classes, threads=threads,
                           compute=compute)
    else:
        t = Trainer(images, config, labels=labels, num_classes=num_classes,
                    class_conditional=class_conditional, options=options,
                    threads=threads, compute=compute)
    try:
        t.run(steps=steps, seconds=seconds, progress=progress,
              checkpoint=checkpoint, save_every=save_every)
    except BaseException:
        t.close()
        raise
    return t


__all__ = ["Trainer", "train", "default_config", "default_options"]
