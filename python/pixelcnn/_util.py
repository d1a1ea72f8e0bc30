"""What the package's classes share: NumPy arrays as the library's images
and data sets, configs as dicts, views from strings, a context, and the
progress callback's bridge."""
import ctypes
import math

import numpy as np

from . import _lib
from ._lib import (ERR_ARG, ERR_SHAPE, ERR_VALUE, POINTER, c_int32, c_uint8,
                   check, fail, lib)


# ------------------------------------------------------------------ arrays

def f32(v):
    """A float32 field as the shortest float that rounds to it (0.001, not
    0.0010000000474974513)."""
    return float(repr(np.float32(v)))


def images(x, what, ndim=4):
    """x as a C-contiguous uint8 array of `ndim` dims. Integer arrays with
    values 0..255 are converted; anything else is a PixelCNNError."""
    a = np.asarray(x)
    if a.ndim != ndim:
        raise fail(ERR_SHAPE, "%s: %d-d array of shape %s, want %d dims"
                   % (what, a.ndim, a.shape, ndim))
    if a.dtype != np.uint8:
        if a.dtype.kind not in "iub" or (a.size and (a.min() < 0 or
                                                    a.max() > 255)):
            raise fail(ERR_VALUE, "%s: want uint8 pixel values 0..255, got "
                       "%s%s" % (what, a.dtype, "" if a.dtype.kind not in
                                 "iub" else " values %d..%d"
                                 % (a.min(), a.max())))
        a = a.astype(np.uint8)
    return np.ascontiguousarray(a)


def u8(a):
    """A pointer to the bytes of uint8 array a (None for None)."""
    return None if a is None else a.ctypes.data_as(POINTER(c_uint8))


def i32(a):
    return None if a is None else a.ctypes.data_as(POINTER(c_int32))


def image(a):
    """The pcnn_image describing uint8 array a (n, c, h, w): the library
    reads and writes exactly that shape, so the array's own shape is what
    keeps its accesses in bounds."""
    n, c, h, w = a.shape
    return _lib.Image(u8(a), n, c, h, w)


def labels_of(labels, n, what):
    """labels (None, one int for all, or n ints) as an int32 array."""
    if labels is None:
        return None
    a = np.asarray(labels)
    if a.ndim == 0:
        a = np.full(n, int(a))
    if a.shape != (n,) or a.dtype.kind not in "iu":
        raise fail(ERR_SHAPE, "%s: labels of shape %s and type %s, want %d "
                   "integers" % (what, a.shape, a.dtype, n))
    if a.size and (a.min() < -2**31 or a.max() >= 2**31):
        raise fail(ERR_VALUE, "%s: a label beyond int32" % what)
    return np.ascontiguousarray(a, dtype=np.int32)


class Owner:
    """An owner of library objects: close() releases them; a with block
    and garbage collection call it (so it must be safe to call twice and
    on a half-built object)."""

    def close(self):
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if lib is not None:  # None at interpreter shutdown
            self.close()


class Dataset(Owner):
    """A pcnn_dataset made by the library from arrays (it copies them),
    freed with the object (or on leaving a with block)."""

    def __init__(self, x, labels=None, num_classes=0, what="images"):
        x = images(x, what)
        lab = labels_of(labels, x.shape[0], what)
        if lab is not None and not num_classes:
            num_classes = int(lab.max()) + 1 if lab.size else 0
        self.d = _lib.Dataset()
        check(lib.pcnn_dataset_from_memory(
            u8(x), *x.shape, i32(lab), int(num_classes) if lab is not None
            else 0, ctypes.byref(self.d)))

    def stage(self, view, cond_view=None):
        """The stage data set: view(X) and, with cond_view, the condition
        images (pcnn_stage_dataset); replaces this one's arrays."""
        out = _lib.Dataset()
        check(lib.pcnn_stage_dataset(ctypes.byref(self.d),
                                     ctypes.byref(view),
                                     ctypes.byref(cond_view)
                                     if cond_view is not None else None,
                                     ctypes.byref(out)))
        self.close()
        self.d = out
        return self

    def close(self):
        if hasattr(self, "d"):
            lib.pcnn_dataset_free(ctypes.byref(self.d))  # zeroes it


# ----------------------------------------------------------------- context

_COMPUTE = ("f32", "bf16")


class Context(Owner):
    """A pcnn_ctx: the backend and its threads (threads <= 0: all cores),
    and the arithmetic of its GEMMs: compute "f32" or "bf16" (bf16
    products with fp32 sums and weights, on CPUs with AVX512_BF16; an
    error elsewhere, never a fallback)."""

    def __init__(self, threads=0, compute="f32"):
        if compute not in _COMPUTE:
            raise fail(ERR_ARG, "compute %r: want 'f32' or 'bf16'"
                       % (compute,))
        self.p = _lib.P()
        opts = _lib.CtxOpts(0, int(threads))
        check(lib.pcnn_ctx_create(ctypes.byref(self.p), ctypes.byref(opts)))
        try:
            check(lib.pcnn_ctx_set_compute(self.p, _COMPUTE.index(compute)))
        except BaseException:
            self.close()
            raise

    @property
    def threads(self):
        return lib.pcnn_ctx_threads(self.p)

    @property
    def compute(self):
        return _COMPUTE[lib.pcnn_ctx_compute(self.p)]

    def describe(self):
        return lib.pcnn_ctx_describe(self.p).decode()

    def close(self):
        if getattr(self, "p", None):
            lib.pcnn_ctx_free(self.p)
            self.p = _lib.P()


# ------------------------------------------------------------ configs, views

_VIEW_KEYS = ("halvings", "gray4", "lab")


def view_dict(v):
    return {k: getattr(v, k) for k in _VIEW_KEYS}


def view_str(v):
    buf = ctypes.create_string_buffer(96)
    return lib.pcnn_view_str(ctypes.byref(v), buf, 96).decode()


def view_of(spec, what):
    """A pcnn_view from a dict ({"halvings": 1, ...}) or the command line's
    spelling: "x", "half,half", "half,gray4", "L", "ab,half"."""
    if isinstance(spec, _lib.View):
        return spec
    if isinstance(spec, dict):
        bad = set(spec) - set(_VIEW_KEYS)
        if bad:
            raise fail(ERR_ARG, "%s: unknown view key %s (halvings, gray4, "
                       "lab)" % (what, sorted(bad)[0]))
        return _lib.View(*(int(spec.get(k, 0)) for k in _VIEW_KEYS))
    if not isinstance(spec, str):
        raise fail(ERR_ARG, "%s: a view is a dict or a string, not %r"
                   % (what, spec))
    v = _lib.View(0, 0, 0)
    parts = [] if spec == "x" else spec.split(",")
    for i, p in enumerate(parts):
        if p == "half" and not v.gray4:
            v.halvings += 1
        elif p == "gray4" and not v.gray4 and not v.lab:
            v.gray4 = 1
        elif p in ("L", "ab") and i == 0:
            v.lab = _lib.LAB_L if p == "L" else _lib.LAB_AB
        else:
            raise fail(ERR_ARG, "%s %r: a view is x, or half repeated then "
                       "optionally gray4 (half,half,gray4), or L or ab then "
                       "half repeated (ab,half)" % (what, spec))
    return v


def config_dict(cfg):
    """A pcnn_model_config as a dict (views as dicts, plus their strings)."""
    d = {}
    for name, _ in _lib.ModelConfig._fields_:
        val = getattr(cfg, name)
        d[name] = view_dict(val) if isinstance(val, _lib.View) else val
    d["dropout"] = f32(d["dropout"])
    d["view_str"] = view_str(cfg.view)
    d["cond_view_str"] = view_str(cfg.cond_view)
    return d


def config_struct(d, base, what):
    """base (a pcnn_model_config) with the fields of dict d set. Unknown
    keys are an error; view_str and cond_view_str are ignored."""
    cfg = _lib.ModelConfig.from_buffer_copy(base)
    names = {n for n, _ in _lib.ModelConfig._fields_}
    for k, val in d.items():
        if k in ("view_str", "cond_view_str"):
            continue
        if k not in names:
            raise fail(ERR_ARG, "%s: unknown config key %r" % (what, k))
        if k in ("view", "cond_view"):
            setattr(cfg, k, view_of(val, "%s: %s" % (what, k)))
        elif k == "dropout":
            cfg.dropout = float(val)
        else:
            setattr(cfg, k, int(val))
    return cfg


# ---------------------------------------------------------------- progress

class Progress:
    """Calls progress(job, done, total, value) for the library and returns
    its wish to stop; keeps an exception the callback raised (ctypes would
    print and drop it), stops the job then, and re-raises it once the
    library call has returned."""

    def __init__(self, fn, job=None):
        self.fn, self.job = fn, job
        self.error = None
        self.stop = False
        self.c_fn = _lib.PROGRESS_FN(self._from_library)

    def report(self, job, done, total, value=math.nan):
        if self.fn is None or self.error is not None:
            return self.stop
        try:
            self.stop = bool(self.fn(job, int(done), int(total),
                                     float(value)))
        except BaseException as e:  # noqa: B902 -- re-raised by reraise()
            self.error = e
            self.stop = True
        return self.stop

    def _from_library(self, arg, info):
        i = info.contents
        job = self.job or i.job.decode()
        return int(self.report(job, i.done, i.total, i.value))

    def struct(self):
        """The pcnn_progress to hand the library (fn NULL: no reports).
        The ctypes function lives as long as this object."""
        if self.fn is None:
            return _lib.Progress()
        return _lib.Progress(self.c_fn, None)

    def reraise(self):
        if self.error is not None:
            raise self.error
