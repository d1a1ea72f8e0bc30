"""torch_net.py -- the PixelCNN++ network of docs/model.md, an nn.Module.

The twin of the C model (src/model/): the same network, built from the op
functions of torch_ops.py (shifted convs, cropped transposed convs, nin,
shifts, concat_elu, gate, weight norm per output channel, counter-based
dropout), with every config the C model has: the DMOL or categorical head,
class labels, a condition map with or without the conditioning network
(flat or down-up, dilated or not). Its state_dict() keys are exactly the
checkpoint names of docs/model.md ("init.u.v", "up.0.u.0.conv_in.g",
"down.1.u_up.v", "out.b", "up.0.ul.0.class_w", "cond.d1.0.conv_in.v", ...):
each dotted name is a path of child modules ending in a parameter.

    cfg = config(channels=3, height=32, width=32)
    net = PixelCNNpp(cfg, dtype=torch.float32)
    net.init_params(seed=1)            # v ~ N(0, 0.05^2), g = 1, b = 0
    net.data_init(x_uint8)             # data-dependent init on one batch
    l = net(x_uint8)                   # (B, P, H, W) head parameters
    loss = net.bits_per_dim(x_uint8)   # -sum log p / (B C H W ln 2)

net.params is an OrderedDict name -> parameter in forward order (the
order the C model registers them); net.parameters() follows the module
tree instead. Dropout runs only when net.training is True and
cfg["dropout"] > 0; the mask of each call is keep[k] = u01(seed, k) >= p
over the flat index of the (B, 2F, H, W) tensor, with u01 of
src/core/rng.h, and the seed of each call comes from
net.dropout_seed(prefix, index) (a settable callable; see
default_dropout_seed).

File I/O (checkpoints, chain stages, export) is in torch_interop.py.
Run with /usr/bin/python3 (torch 1.13, numpy).
"""
import itertools
import json
import math
import os
import re
import struct
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import torch_ops as T

DOWN, DOWN_RIGHT = T.DOWN, T.DOWN_RIGHT

# ------------------------------------------------------------------ config

# The keys of the first checkpoints (always written by the library).
BASE_KEYS = ("channels", "height", "width", "nr_resnet", "nr_filters",
             "nr_mix", "nr_resolutions", "dropout", "num_classes",
             "cond_channels")
# The rest of pcnn_model_config: optional in a file (defaults below).
EXTRA_KEYS = ("head", "levels", "cond_nr_resnet", "cond_nr_filters",
              "cond_down", "cond_dilate", "view_halvings", "view_gray4",
              "view_lab", "cond_view_halvings", "cond_view_gray4",
              "cond_view_lab", "plain", "init")
CONFIG_KEYS = BASE_KEYS + EXTRA_KEYS
DEFAULT_CONFIG = OrderedDict([
    ("channels", 3), ("height", 32), ("width", 32), ("nr_resnet", 5),
    ("nr_filters", 160), ("nr_mix", 10), ("nr_resolutions", 3),
    ("dropout", 0.5), ("num_classes", 0), ("cond_channels", 0),
    ("head", "dmol"), ("levels", 256), ("cond_nr_resnet", 0),
    ("cond_nr_filters", 0), ("cond_down", 0), ("cond_dilate", 0),
    ("view_halvings", 0), ("view_gray4", 0), ("view_lab", 0),
    ("cond_view_halvings", 0), ("cond_view_gray4", 0),
    ("cond_view_lab", 0), ("plain", 0), ("init", 0)])
HEADS = ("dmol", "categorical")

# Integer keys and their ranges: those of the library's checkpoint reader
# and check_config (src/train/checkpoint.c, src/model/pixelcnnpp.c).
INT_RANGES = OrderedDict([
    ("channels", (1, 3)), ("height", (1, 4096)), ("width", (1, 4096)),
    ("nr_resnet", (1, 64)), ("nr_filters", (1, 4096)),
    ("nr_mix", (1, 1024)), ("nr_resolutions", (1, 8)),
    ("num_classes", (0, 65536)), ("cond_channels", (0, 4096)),
    ("levels", (2, 256)), ("cond_nr_resnet", (0, 64)),
    ("cond_nr_filters", (0, 4096)), ("cond_down", (0, 8)),
    ("cond_dilate", (0, 1)), ("view_halvings", (0, 6)),
    ("view_gray4", (0, 1)), ("view_lab", (0, 2)),
    ("cond_view_halvings", (0, 6)), ("cond_view_gray4", (0, 1)),
    ("cond_view_lab", (0, 2)), ("plain", (0, 1)), ("init", (0, 1))])

# The init scale of every conv_out (PixelCNN++'s init_scale=0.1), as the
# float32 0.1 that the C library passes.
CONV_OUT_INIT_SCALE = float(np.float32(0.1))


def _check_config(cfg):
    """Raises ValueError naming the first key out of range, as the
    library's check_config would refuse the config."""
    for k, (lo, hi) in INT_RANGES.items():
        if not lo <= cfg[k] <= hi:
            raise ValueError("config %s=%d not in %d..%d" % (k, cfg[k], lo,
                                                              hi))
    S = cfg["nr_resolutions"]
    for k in ("height", "width"):
        for unit, why in ((1 << (S - 1), "2^(nr_resolutions-1)"),
                          (1 << cfg["cond_down"], "2^cond_down")):
            if cfg[k] % unit:
                raise ValueError("config %s=%d is not divisible by %d (%s)"
                                 % (k, cfg[k], unit, why))
    if not 0.0 <= cfg["dropout"] < 1.0:
        raise ValueError("config dropout=%r not in [0, 1)" % cfg["dropout"])
    if cfg["head"] not in HEADS:
        raise ValueError("config head=%r is not dmol or categorical"
                         % cfg["head"])
    if cfg["head"] == "dmol" and cfg["levels"] != 256:
        raise ValueError("config levels=%d: the dmol head has 256"
                         % cfg["levels"])
    if (cfg["cond_nr_resnet"] or cfg["cond_down"]) and \
            not cfg["cond_nr_filters"]:
        raise ValueError("config cond_nr_resnet/cond_down need "
                         "cond_nr_filters >= 1")
    if (cfg["cond_nr_resnet"] or cfg["cond_nr_filters"]) and \
            not cfg["cond_channels"]:
        raise ValueError("config: a conditioning network needs "
                         "cond_channels >= 1")
    for pre in ("view_", "cond_view_"):
        if cfg[pre + "gray4"] and cfg[pre + "lab"]:
            raise ValueError("config %sgray4 with %slab" % (pre, pre))


def config(**kw):
    """A checked configuration: DEFAULT_CONFIG updated with kw (ValueError
    on an unknown key or a value the library would refuse)."""
    unknown = set(kw) - set(CONFIG_KEYS)
    if unknown:
        raise ValueError("unknown config keys: %s" % sorted(unknown))
    cfg = OrderedDict(DEFAULT_CONFIG)
    cfg.update(kw)
    for k in CONFIG_KEYS:
        if k == "dropout":
            cfg[k] = float(cfg[k])
        elif k == "head":
            cfg[k] = str(cfg[k])
        else:
            cfg[k] = int(cfg[k])
    _check_config(cfg)
    return cfg


def config_to_metadata(cfg, keys=None):
    """The config as checkpoint metadata (strings: integers, dropout as
    repr, the head's name). keys: which ones; by default the ten of
    BASE_KEYS and any other key that differs from its default."""
    if keys is None:
        keys = [k for k in CONFIG_KEYS
                if k in BASE_KEYS or cfg[k] != DEFAULT_CONFIG[k]]
    return OrderedDict((k, repr(float(cfg[k])) if k == "dropout"
                        else str(cfg[k]) if k == "head"
                        else str(int(cfg[k]))) for k in keys)


_INT_RE = re.compile(r"^[+-]?[0-9]+$")


def config_from_metadata(meta, prefix=""):
    """The config from a checkpoint's metadata (keys prefix + name, as a
    chain file's "s1.channels"); missing keys take the defaults of
    docs/model.md and are listed in the returned `missing`. ValueError
    naming the key when a value does not parse or is out of range."""
    kw, missing = {}, []
    for k in CONFIG_KEYS:
        v = meta.get(prefix + k)
        if v is None:
            missing.append(k)
            continue
        if k == "head":
            kw[k] = v
            continue
        try:
            if k == "dropout":
                kw[k] = float(v)
            elif _INT_RE.match(v):
                kw[k] = int(v)
            else:
                raise ValueError
        except ValueError:
            raise ValueError('metadata "%s%s" = "%s" is not a number'
                             % (prefix, k, v)) from None
    return config(**kw), missing


def nr_params_out(cfg):
    """P, the channels of the head's input: M (1 + 2C + C(C-1)/2) for
    DMOL, C * levels for the categorical head."""
    if cfg["head"] == "categorical":
        return cfg["channels"] * cfg["levels"]
    return cfg["nr_mix"] * T.dmol_params(cfg["channels"])


def cond_features(cfg):
    """Channels of the condition features entering the gated resnets."""
    return cfg["cond_nr_filters"] or cfg["cond_channels"]


# ------------------------------------------------------- the layer table


def _cond_table(cfg, rows):
    """The conditioning network's rows (registered first, as in C)."""
    Fc, Rc, CC = cfg["cond_nr_filters"], cfg["cond_nr_resnet"], \
        cfg["cond_channels"]

    def resnet(prefix):
        rows.append((prefix + ".conv_in", "conv", (Fc, 2 * Fc, 3, 3)))
        rows.append((prefix + ".conv_out", "conv", (2 * Fc, 2 * Fc, 3, 3)))

    rows.append(("cond.in", "conv", (Fc, CC, 3, 3)))
    for i in range(Rc):
        resnet("cond.%d" % i)
    for d in range(1, cfg["cond_down"] + 1):
        rows.append(("cond.down%d" % d, "conv", (Fc, Fc, 3, 3)))
        for i in range(Rc):
            resnet("cond.d%d.%d" % (d, i))
    for d in range(cfg["cond_down"], 0, -1):
        rows.append(("cond.up%d" % d, "deconv", (Fc, Fc, 2, 2)))
        for i in range(Rc):
            resnet("cond.u%d.%d" % (d, i))


def layer_table(cfg):
    """Every layer in forward order: (name, type, v_shape) with type
    'conv', 'deconv', 'nin' (weight-normalized: name.v, name.g, name.b)
    or 'plain' (the tensor `name` itself, class_w). Mirrors forward()."""
    C, F_, R, S = (cfg["channels"], cfg["nr_filters"], cfg["nr_resnet"],
                   cfg["nr_resolutions"])
    K, CC = cfg["num_classes"], cfg["cond_channels"]
    rows = []
    if cfg["cond_nr_filters"]:
        _cond_table(cfg, rows)
    rows += [("init.u", "conv", (F_, C + 1, 2, 3)),
             ("init.ul_down", "conv", (F_, C + 1, 1, 3)),
             ("init.ul_right", "conv", (F_, C + 1, 2, 1))]

    def resnet(prefix, kh, kw, skip_in):
        rows.append((prefix + ".conv_in", "conv", (F_, 2 * F_, kh, kw)))
        if skip_in:
            rows.append((prefix + ".skip", "nin", (F_, skip_in)))
        rows.append((prefix + ".conv_out", "conv", (2 * F_, 2 * F_, kh, kw)))
        if K:
            rows.append((prefix + ".class_w", "plain", (2 * F_, K)))
        if CC:
            rows.append((prefix + ".cond", "nin", (2 * F_,
                                                   cond_features(cfg))))

    for s in range(S):
        for i in range(R):
            resnet("up.%d.u.%d" % (s, i), 2, 3, 0)
            resnet("up.%d.ul.%d" % (s, i), 2, 2, 2 * F_)
        if s < S - 1:
            rows.append(("up.%d.u_down" % s, "conv", (F_, F_, 2, 3)))
            rows.append(("up.%d.ul_down" % s, "conv", (F_, F_, 2, 2)))
    for s in reversed(range(S)):
        for i in range(R if s == S - 1 else R + 1):
            resnet("down.%d.u.%d" % (s, i), 2, 3, 2 * F_)
            resnet("down.%d.ul.%d" % (s, i), 2, 2, 4 * F_)
        if s > 0:
            rows.append(("down.%d.u_up" % s, "deconv", (F_, F_, 2, 3)))
            rows.append(("down.%d.ul_up" % s, "deconv", (F_, F_, 2, 2)))
    rows.append(("out", "nin", (nr_params_out(cfg), F_)))
    return rows


def param_shapes(cfg):
    """OrderedDict checkpoint name -> shape, in forward order."""
    out = OrderedDict()
    for name, kind, vshape in layer_table(cfg):
        if kind == "plain":
            out[name] = tuple(vshape)
            continue
        co = vshape[1] if kind == "deconv" else vshape[0]
        out[name + ".v"] = tuple(vshape)
        out[name + ".g"] = (co,)
        out[name + ".b"] = (co,)
    return out


def weight_norm_axes(cfg):
    """{name.v: the output-channel axis of v} for every weight-normalized
    layer: 1 for a transposed conv, else 0."""
    return OrderedDict((name + ".v", 1 if kind == "deconv" else 0)
                       for name, kind, _ in layer_table(cfg)
                       if kind != "plain")


# ----------------------------------------------------------------- dropout

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64_inplace(z, tmp):
    """SplitMix64's finalizer on a uint64 array, in place (wrapping)."""
    np.right_shift(z, np.uint64(30), out=tmp)
    z ^= tmp
    z *= _M1
    np.right_shift(z, np.uint64(27), out=tmp)
    z ^= tmp
    z *= _M2
    np.right_shift(z, np.uint64(31), out=tmp)
    z ^= tmp


def u53_np(seed, n):
    """hash64(seed, k) >> 11 for k in 0..n-1 as uint64: the 53 bits of
    pcnn_u01 (src/core/rng.h), vectorized with uint64 arithmetic that wraps
    modulo 2^64 as in C."""
    z = np.arange(n, dtype=np.uint64)
    tmp = np.empty_like(z)
    with np.errstate(over="ignore"):
        z += _GOLDEN
        _mix64_inplace(z, tmp)
        z ^= np.uint64(seed & T.MASK64)
        _mix64_inplace(z, tmp)
    z >>= np.uint64(11)
    return z


def u01_np(seed, n):
    """pcnn_u01(seed, k) for k in 0..n-1 (float64); equal to
    torch_ops.u01_array."""
    return u53_np(seed, n).astype(np.float64) * 2.0**-53


def dropout_keep(shape, p, seed):
    """keep[k] = u01(seed, k) >= p over the flat index (bool tensor),
    compared exactly as integers: u01 = z 2^-53 >= p iff z >= ceil(p 2^53)."""
    n = int(np.prod(shape))
    keep = u53_np(seed, n) >= np.uint64(math.ceil(p * 2.0**53))
    return torch.from_numpy(keep).view(*shape)


def default_dropout_seed(step_seed=0):
    """A placeholder seed rule until the C model fixes its own: the k-th
    dropout call of a forward pass (k = 0, 1, ... in forward order) uses
    hash64(step_seed, k). The callable receives (prefix, k), the gated
    resnet's checkpoint prefix ("up.0.u.0") and k."""
    return lambda prefix, k: T.hash64(step_seed, k)


# ---------------------------------------------------------------- network


# ---------------------------------------------------------------- network


def _child(module, name):
    """The child module `name` of module, made (empty) if absent."""
    if name not in module._modules:
        module.add_module(name, nn.Module())
    return module._modules[name]


class PixelCNNpp(nn.Module):
    """The network of docs/model.md. Parameters live in a tree of child
    modules whose dotted paths are the checkpoint names (state_dict() is a
    checkpoint's parameter set); self.params maps the same names to the
    same tensors in forward order, and the forward pass reads them from
    there (a caller may put other tensors in it, as gradcheck does)."""

    def __init__(self, cfg, dtype=torch.float32, params=None):
        super().__init__()
        self.cfg = config(**cfg)
        self.shapes = param_shapes(self.cfg)
        for name, shape in self.shapes.items():
            *path, leaf = name.split(".")
            m = self
            for part in path:
                m = _child(m, part)
            m.register_parameter(leaf, nn.Parameter(
                torch.zeros(shape, dtype=dtype)))
        self._collect_params()
        if params is not None:
            self.load_params(params)
        self.dropout_seed = default_dropout_seed(0)
        self._init_mode = False
        self._init_stats = None
        self._used = None

    def _collect_params(self):
        self.params = OrderedDict((n, self.get_parameter(n))
                                  for n in self.shapes)

    def _apply(self, fn):
        # .to(), .double(), ... may replace the parameters
        out = super()._apply(fn)
        self._collect_params()
        return out

    @property
    def dtype(self):
        return next(iter(self.params.values())).dtype

    # -- parameters

    def load_params(self, tensors, strict=True):
        """Copies tensors[name] into every parameter (shapes must match).
        Extra names are ignored; a missing one is an error when strict."""
        missing = [n for n in self.shapes if n not in tensors]
        if missing and strict:
            raise KeyError("checkpoint lacks %d tensors, e.g. %s"
                           % (len(missing), missing[:5]))
        with torch.no_grad():
            for n, p in self.params.items():
                if n not in tensors:
                    continue
                t = torch.as_tensor(np.asarray(tensors[n])) \
                    if not torch.is_tensor(tensors[n]) else tensors[n]
                if tuple(t.shape) != tuple(p.shape):
                    raise ValueError("%s: shape %s, expected %s"
                                     % (n, tuple(t.shape), tuple(p.shape)))
                p.copy_(t.to(p.dtype))

    def state(self):
        """{name: detached float32 tensor} in forward order."""
        return OrderedDict((n, p.detach().float())
                           for n, p in self.params.items())

    def init_params(self, seed=0, generator=None):
        """docs/model.md's initialization before the data-dependent one:
        v ~ N(0, 0.05^2) (drawn in float64, rounded to float32), g = 1,
        b = 0, class_w = 0."""
        rng = generator or np.random.default_rng(seed)
        with torch.no_grad():
            for n, p in self.params.items():
                if n.endswith(".v"):
                    a = (rng.standard_normal(p.shape) * 0.05).astype(
                        np.float32)
                    p.copy_(torch.from_numpy(a).to(p.dtype))
                elif n.endswith(".g"):
                    p.fill_(1.0)
                else:
                    p.zero_()

    # -- layers

    def _p(self, name):
        if self._used is not None:
            self._used.append(name)
        return self.params[name]

    def _wn_layer(self, name, apply, axis):
        """A weight-normalized layer: apply(w, bias) with w = g v/||v||.
        In the data-init pass the layer runs with g = 1, b = 0, then sets
        g = scale/sqrt(var + 1e-10), b = -mean g per output channel and
        returns the normalized output (pcnn_weightnorm_data_init)."""
        v, g, b = (self._p(name + ".v"), self._p(name + ".g"),
                   self._p(name + ".b"))
        if self.cfg["plain"] and not self._init_mode:
            # plain 1: the library uses w = v; g (= ||v|| when written in
            # fp32) is not read, so a 16-bit export, whose rounded g is no
            # longer ||v||, gives the library's figures
            return apply(v, b)
        if not self._init_mode:
            return apply(T.weight_norm(v, g, axis), b)
        if self.cfg["plain"]:
            return self._plain_data_init(name, apply, axis, v, g, b)
        if name.endswith(".cond"):
            # the condition map's layer keeps g = 1, b = 0: a channel that is
            # constant over the init batch would get g = 1e5 (docs/model.md)
            g.fill_(1.0)
            b.zero_()
            return apply(T.weight_norm(v, g, axis), b)
        y = apply(T.weight_norm(v, torch.ones_like(g), axis), None)
        scale = CONV_OUT_INIT_SCALE if name.endswith(".conv_out") else 1.0
        g_new, b_new, y = T.weight_norm_data_init(y, scale)
        g.copy_(g_new)
        b.copy_(b_new)
        self._init_stats.append((name, scale, y))
        return y

    def _plain_data_init(self, name, apply, axis, v, g, b):
        """The data-init pass of a plain model, as the library runs it
        (pcnn_model_data_init): the layer runs with w = v, b = 0, sets g
        from its output as above, then folds g into v (the new weight,
        g v: the weight-normalized model's g v/||v|| for the same v) and
        sets g = ||v||. The condition map's layer keeps w = v."""
        b.zero_()
        y = apply(v, None)
        if not name.endswith(".cond"):
            scale = CONV_OUT_INIT_SCALE if name.endswith(".conv_out") else 1.0
            g_new, b_new, y = T.weight_norm_data_init(y, scale)
            shape = [1] * v.dim()
            shape[axis] = -1
            v.mul_(g_new.view(shape))
            b.copy_(b_new)
            self._init_stats.append((name, scale, y))
        dims = [d for d in range(v.dim()) if d != axis]
        g.copy_(torch.sqrt((v * v).sum(dim=dims)))
        return y

    def _conv(self, name, x, kind, stride=1):
        return self._wn_layer(
            name, lambda w, b: T.shifted_conv2d(x, w, b, kind, stride), 0)

    def _deconv(self, name, x, kind):
        return self._wn_layer(
            name, lambda w, b: T.shifted_deconv2d(x, w, b, kind, 2), 1)

    def _nin(self, name, x):
        return self._wn_layer(name, lambda w, b: T.nin(x, w, b), 0)

    def _conv3x3(self, name, x, stride=1, dilation=1):
        """The conditioning network's non-causal 3x3 conv, padded by its
        dilation on every side."""
        return self._wn_layer(name, lambda w, b: F.conv2d(
            x, w, b, stride=stride, padding=dilation, dilation=dilation), 0)

    def _up2x2(self, name, x):
        """2x2 stride-2 transposed conv: one tap per output, no crop."""
        return self._wn_layer(
            name, lambda w, b: F.conv_transpose2d(x, w, b, stride=2), 1)

    def _dropout(self, prefix, x):
        p = self.cfg["dropout"]
        if not self.training or p == 0.0:
            return x
        seed = self.dropout_seed(prefix, self._dropout_calls)
        self._dropout_calls += 1
        keep = dropout_keep(tuple(x.shape), p, seed).to(x.dtype)
        return x * keep / (1.0 - p)

    def _gated_resnet(self, prefix, x, a, kind, labels, cond_s):
        """docs/model.md's gated_resnet(x, a, conv) with prefix P."""
        c1 = self._conv(prefix + ".conv_in", T.concat_elu(x), kind)
        if a is not None:
            c1 = c1 + self._nin(prefix + ".skip", T.concat_elu(a))
        c1 = self._dropout(prefix, T.concat_elu(c1))
        c2 = self._conv(prefix + ".conv_out", c1, kind)
        if self.cfg["num_classes"]:
            cw = self._p(prefix + ".class_w")  # (2F, K)
            c2 = c2 + cw[:, labels].t().reshape(x.shape[0], -1, 1, 1)
        if self.cfg["cond_channels"]:
            c2 = c2 + self._nin(prefix + ".cond", cond_s)
        return x + T.gate(c2)

    def _cond_resnet(self, prefix, h, dilation=1):
        """The conditioning network's block (no dropout)."""
        c1 = self._conv3x3(prefix + ".conv_in", T.concat_elu(h),
                           dilation=dilation)
        c2 = self._conv3x3(prefix + ".conv_out", T.concat_elu(c1),
                           dilation=dilation)
        return h + T.gate(c2)

    def _cond_network(self, h):
        """docs/model.md's conditioning network over the map h."""
        cfg = self.cfg
        Rc = cfg["cond_nr_resnet"]
        h = self._conv3x3("cond.in", h)
        for i in range(Rc):
            dil = 1 << min(i, 6) if cfg["cond_dilate"] else 1
            h = self._cond_resnet("cond.%d" % i, h, dil)
        saved = []
        for d in range(1, cfg["cond_down"] + 1):
            saved.append(h)
            h = self._conv3x3("cond.down%d" % d, h, stride=2)
            for i in range(Rc):
                h = self._cond_resnet("cond.d%d.%d" % (d, i), h)
        for d in range(cfg["cond_down"], 0, -1):
            h = self._up2x2("cond.up%d" % d, h) + saved.pop()
            for i in range(Rc):
                h = self._cond_resnet("cond.u%d.%d" % (d, i), h)
        return h

    # -- the network

    def check_inputs(self, x, labels, cond):
        cfg = self.cfg
        want = (cfg["channels"], cfg["height"], cfg["width"])
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise ValueError("x: shape %s, expected (B,)+%s"
                             % (tuple(x.shape), want))
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= cfg["levels"]):
            raise ValueError("x: values must be in 0..%d (levels=%d)"
                             % (cfg["levels"] - 1, cfg["levels"]))
        B = x.shape[0]
        if cfg["num_classes"]:
            if labels is None or tuple(labels.shape) != (B,):
                raise ValueError("labels (B,) are required: num_classes=%d"
                                 % cfg["num_classes"])
            lab = torch.as_tensor(labels).long()
            if lab.min() < 0 or lab.max() >= cfg["num_classes"]:
                raise ValueError("labels out of range")
        if cfg["cond_channels"]:
            want = (B, cfg["cond_channels"], cfg["height"], cfg["width"])
            if cond is None or tuple(cond.shape) != want:
                raise ValueError("cond %s is required" % (want,))

    def scale_inputs(self, x):
        """x * 2/(levels-1) - 1 in the network's dtype."""
        return x.to(self.dtype) / ((self.cfg["levels"] - 1) / 2.0) - 1.0

    def forward(self, x, labels=None, cond=None):
        """x (B, C, H, W) uint8 (or integer-valued) -> l (B, P, H, W);
        labels (B,) for a class-conditional model, cond (B, cond_channels,
        H, W) float for a map-conditional one."""
        self.check_inputs(x, labels, cond)
        return self.forward_scaled(self.scale_inputs(x), labels, cond)

    def forward_scaled(self, xs, labels=None, cond=None):
        """The network on the scaled image xs = x * 2/(levels-1) - 1
        (float, so that tests may differentiate through it)."""
        cfg = self.cfg
        R, S = cfg["nr_resnet"], cfg["nr_resolutions"]
        B, _, H, W = xs.shape
        self._dropout_calls = 0
        if cfg["num_classes"]:
            labels = torch.as_tensor(labels).long()
        conds = [None] * S
        if cfg["cond_channels"]:
            conds[0] = cond.to(xs.dtype)
            if cfg["cond_nr_filters"]:
                conds[0] = self._cond_network(conds[0])
            for s in range(1, S):
                conds[s] = F.avg_pool2d(conds[s - 1], 2)
        xin = torch.cat([xs, torch.ones(B, 1, H, W, dtype=xs.dtype)], 1)

        u = T.down_shift(self._conv("init.u", xin, DOWN))
        ul = T.add(T.down_shift(self._conv("init.ul_down", xin, DOWN)),
                   T.right_shift(self._conv("init.ul_right", xin,
                                            DOWN_RIGHT)))
        us, uls = [u], [ul]
        for s in range(S):
            for i in range(R):
                u = self._gated_resnet("up.%d.u.%d" % (s, i), u, None, DOWN,
                                       labels, conds[s])
                ul = self._gated_resnet("up.%d.ul.%d" % (s, i), ul, u,
                                        DOWN_RIGHT, labels, conds[s])
                us.append(u)
                uls.append(ul)
            if s < S - 1:
                u = self._conv("up.%d.u_down" % s, u, DOWN, stride=2)
                ul = self._conv("up.%d.ul_down" % s, ul, DOWN_RIGHT,
                                stride=2)
                us.append(u)
                uls.append(ul)

        u, ul = us.pop(), uls.pop()
        for s in reversed(range(S)):
            for i in range(R if s == S - 1 else R + 1):
                u = self._gated_resnet("down.%d.u.%d" % (s, i), u, us.pop(),
                                       DOWN, labels, conds[s])
                ul = self._gated_resnet("down.%d.ul.%d" % (s, i), ul,
                                        torch.cat([u, uls.pop()], 1),
                                        DOWN_RIGHT, labels, conds[s])
            if s > 0:
                u = self._deconv("down.%d.u_up" % s, u, DOWN)
                ul = self._deconv("down.%d.ul_up" % s, ul, DOWN_RIGHT)
        assert not us and not uls
        return self._nin("out", T.elu(ul))

    def log_prob(self, x, labels=None, cond=None):
        """log p(x) per pixel in nats, (B, 1, H, W)."""
        l = self.forward(x, labels, cond)
        return head_log_prob(l, x, self.cfg)

    def bits_per_dim(self, x, labels=None, cond=None):
        """The loss: -sum(log p) / (B C H W ln 2)."""
        return bits_per_dim(self.log_prob(x, labels, cond), self.cfg)

    def data_init(self, x, labels=None, cond=None, dropout=False):
        """Data-dependent initialization on one batch (docs/model.md):
        one forward pass in order, each weight-normalized layer setting its
        own g and b from its output and passing the normalized output on.
        Dropout is off unless dropout=True (then as in training). Returns
        the pass's output l; afterwards forward(x) gives the same l."""
        was = self.training
        self.training = bool(dropout)
        self._init_mode, self._init_stats = True, []
        try:
            with torch.no_grad():
                l = self.forward(x, labels, cond)
        finally:
            self._init_mode = False
            self.training = was
        return l

    def used_params(self, x, labels=None, cond=None):
        """The parameter names in the order one forward pass reads them."""
        self._used = []
        try:
            with torch.no_grad():
                self.forward(x, labels, cond)
            return self._used
        finally:
            self._used = None


# ------------------------------------------------------------------- head


def dmol_log_prob(l, x, cfg):
    """torch_ops' DMOL log-probability per pixel, (B, 1, H, W)."""
    return T.dmol_log_prob(l, x, cfg["channels"], cfg["nr_mix"])


def head_log_prob(l, x, cfg):
    """log p(x | l) per pixel in nats, (B, 1, H, W), by the config's
    head (DMOL, or categorical over `levels` values)."""
    if cfg["head"] == "categorical":
        return T.cat_log_prob(l, x, cfg["levels"])
    return dmol_log_prob(l, x, cfg)


def bits_per_dim(logp, cfg):
    """-sum(logp) / (B C H W ln 2) for logp (B, 1, H, W)."""
    B, _, H, W = logp.shape
    return -logp.sum() / (B * cfg["channels"] * H * W * math.log(2.0))


def sample_dmol_pixel(l, cfg, i, j, generator=None):
    """Draws pixel (i, j) of every image from the head: the component from
    softmax(logits), then each channel from its logistic, rounded to the
    bin and clamped to 0..255, the mean shifted by the earlier channels'
    drawn values. l (B, P, H, W) -> (B, C) uint8. torch's generator, not
    the library's counter-based draws: for timing and rough samples."""
    C, M = cfg["channels"], cfg["nr_mix"]
    logits, means, log_scales, coefs = T.dmol_split(
        l[:, :, i:i + 1, j:j + 1], C, M)
    B = l.shape[0]
    g = -torch.log(-torch.log(torch.rand(logits.shape, dtype=l.dtype,
                                         generator=generator)
                              .clamp(1e-12, 1 - 1e-12)))
    k = (logits + g).argmax(dim=1, keepdim=True)  # (B,1,1,1)
    out = torch.zeros(B, C, dtype=torch.uint8)
    xs = torch.zeros(B, C, 1, 1, dtype=l.dtype)
    for c in range(C):
        m = T.dmol_channel_mean(means, coefs, xs, c).gather(1, k)
        ls = log_scales[:, c].gather(1, k)
        u = torch.rand(m.shape, dtype=l.dtype, generator=generator)
        u = u.clamp(1e-5, 1 - 1e-5)
        v = m + torch.exp(ls) * (torch.log(u) - torch.log1p(-u))
        q = torch.round((v.clamp(-1, 1) + 1) * 127.5).clamp(0, 255)
        out[:, c] = q.view(B).to(torch.uint8)
        xs[:, c] = q.view(B, 1, 1) / 127.5 - 1.0
    return out


# ------------------------------------------------------------ safetensors

_ST_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
          "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
          "BOOL": "?"}
_NP_ST = {"float64": "F64", "float32": "F32", "float16": "F16",
          "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8",
          "uint64": "U64", "uint32": "U32", "uint16": "U16", "uint8": "U8",
          "bool": "BOOL"}


def _as_numpy(t):
    if torch.is_tensor(t):
        t = t.detach().cpu().numpy()
    return np.asarray(t)


def write_safetensors(path, tensors, metadata=None):
    """Writes tensors (dict or list of (name, array/tensor)) and metadata
    (str -> str) as a safetensors file: 8-byte little-endian header length,
    the JSON header (padded with spaces to a multiple of 8), the data.
    Data ordered by element size, largest first, so every tensor is
    aligned to its element size; header entries in the given order."""
    items = list(tensors.items()) if isinstance(tensors, dict) \
        else list(tensors)
    arrays = [(n, _as_numpy(t)) for n, t in items]
    header = OrderedDict()
    if metadata:
        header["__metadata__"] = OrderedDict(
            (str(k), str(v)) for k, v in metadata.items())
    order = sorted(range(len(arrays)), key=lambda i: -arrays[i][1].itemsize)
    offsets, blobs, at = {}, [], 0
    for i in order:
        name, a = arrays[i]
        if a.dtype.name not in _NP_ST:
            raise ValueError("%s: dtype %s not supported" % (name, a.dtype))
        b = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")) \
            .tobytes()
        offsets[name] = (at, at + len(b))
        blobs.append(b)
        at += len(b)
    for name, a in arrays:
        if name in header:
            raise ValueError("duplicate tensor name %r" % name)
        header[name] = OrderedDict([
            ("dtype", _NP_ST[a.dtype.name]),
            ("shape", [int(d) for d in a.shape]),
            ("data_offsets", list(offsets[name]))])
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    # a temp file of its own next to path (O_EXCL, mode 0666 less the
    # umask, as the library's writer), renamed over path once whole
    for k in itertools.count():
        tmp = "%s.tmp.%d.%d" % (path, os.getpid(), k)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_safetensors(path):
    """(OrderedDict name -> numpy array in the file's order, metadata).
    BF16 comes back as float32. Checks the header length, offsets and
    sizes against the file."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", buf[:8])
    if n > len(buf) - 8:
        raise ValueError("%s: header length %d beyond the file" % (path, n))
    try:
        header = json.loads(buf[8:8 + n].decode("utf-8"),
                            object_pairs_hook=OrderedDict)
    except ValueError as e:  # also UnicodeDecodeError
        raise ValueError("%s: the header is not JSON (%s)" % (path, e)) \
            from None
    if not isinstance(header, dict):
        raise ValueError("%s: the header is not a JSON object" % path)
    data = memoryview(buf)[8 + n:]
    meta = OrderedDict(header.pop("__metadata__", None) or {})
    out = OrderedDict()
    for name, h in header.items():
        dt = h["dtype"]
        if dt not in _ST_NP:
            raise ValueError("%s: %s has unknown dtype %s" % (path, name, dt))
        begin, end = h["data_offsets"]
        shape = tuple(int(d) for d in h["shape"])
        npdt = np.dtype(_ST_NP[dt])
        if not 0 <= begin <= end <= len(data) or \
                end - begin != int(np.prod(shape)) * npdt.itemsize:
            raise ValueError("%s: %s has bad data_offsets" % (path, name))
        a = np.frombuffer(data[begin:end], dtype=npdt).reshape(shape).copy()
        if dt == "BF16":
            a = (a.astype(np.uint32) << np.uint32(16)).view(np.float32)
        out[name] = a
    return out, meta


