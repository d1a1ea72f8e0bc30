"""torch_interop.py -- pixelcnn checkpoints <-> PyTorch, both ways.

    from pixelcnn.torch_interop import load_module, export_state_dict, \\
        bits_per_dim, stage_inputs, load_images

    # a file of ours (checkpoint, weights-only export, or one stage of a
    # chain file) as a torch.nn.Module in eval mode
    net, cfg = load_module("run/checkpoint.safetensors", ema=True)
    x, labels = load_images("t10k-images-idx3-ubyte.gz", n=1000,
                            labels_path="t10k-labels-idx1-ubyte.gz")
    inp = stage_inputs(cfg, x, labels)        # the stage's view, cond map
    print(bits_per_dim(net, **inp))           # = pixelcnn eval's bits/dim

    # a state dict of the same architecture (PixelCNNpp's state_dict(),
    # or any dict with the checkpoint names of docs/model.md) -> a
    # weights-only checkpoint that pixelcnn info/eval/sample read
    export_state_dict(net.state_dict(), cfg, "exported.safetensors")

The module is torch_net.PixelCNNpp: its state_dict() keys are the
checkpoint names. Every config of the library's model is covered: DMOL
and categorical heads, class labels, condition maps with or without the
conditioning network, and the views of chain stages (half resolution,
4-bit gray) for computing a stage's inputs -- except the Lab views
(view_lab, cond_view_lab), whose colour conversion is not restated here:
such a model loads and runs, but stage_inputs refuses to make its inputs.

Nothing here calls libpixelcnn; files are read and written as the
library's own reader checks them (docs/checkpoint.md), so a file that
export_state_dict writes passes `pixelcnn info` and `pixelcnn eval`, and
a state dict the library would refuse raises InteropError naming the
tensor instead.
"""
import gzip
import math
import struct
from collections import OrderedDict

import numpy as np
import torch

from . import torch_net as N
from .torch_net import PixelCNNpp

__all__ = ["PixelCNNpp", "InteropError", "load_module", "load_state",
           "export_state_dict", "check_state_dict", "bits_per_dim",
           "image_bits_per_dim", "stage_inputs", "view_apply", "half",
           "gray4", "cond_map", "read_idx", "load_images",
           "CHECKPOINT_FORMAT", "CHAIN_FORMAT"]

CHECKPOINT_FORMAT = "pixelcnn-checkpoint-1"
CHAIN_FORMAT = "pixelcnn-chain-1"
# The library's bounds on stored values (docs/checkpoint.md, "Reading
# safely"): |parameter| <= 1e6, and every weight-normalized layer's
# direction norm per output channel >= 1e-20.
VALUE_BOUND = 1e6
MIN_DIRECTION_NORM = 1e-20
TRAINING_PREFIXES = ("ema.", "adam.m.", "adam.v.")


class InteropError(ValueError):
    """A file or state dict the library would refuse; the message names
    the file, key or tensor."""


# ------------------------------------------------------------ validation


def _as_array(name, t):
    """t (tensor, Parameter, array) as a float32 numpy array (values
    beyond float32's range become Inf, refused by _check_values)."""
    if torch.is_tensor(t):
        t = t.detach().cpu()
        if not t.is_floating_point():
            raise InteropError('tensor "%s" has dtype %s, not a floating '
                               'point type' % (name, t.dtype))
        t = t.numpy()
    a = np.asarray(t)
    if a.dtype.kind != "f":
        raise InteropError('tensor "%s" has dtype %s, not a floating point '
                           'type' % (name, a.dtype))
    with np.errstate(over="ignore"):
        return a.astype(np.float32)


def _check_values(name, a, axis=None):
    """Finite, within VALUE_BOUND, and (axis: v of a weight-normalized
    layer) a direction norm >= MIN_DIRECTION_NORM per output channel."""
    if not np.isfinite(a).all():
        raise InteropError('tensor "%s" holds NaN or Inf (in float32)' % name)
    big = np.abs(a).max() if a.size else 0.0
    if big > VALUE_BOUND:
        raise InteropError('tensor "%s" holds %g, beyond +-%g'
                           % (name, big, VALUE_BOUND))
    if axis is not None:
        v = np.moveaxis(a.astype(np.float64), axis, 0)
        norms = np.sqrt((v.reshape(v.shape[0], -1) ** 2).sum(axis=1))
        bad = np.nonzero(~(norms >= MIN_DIRECTION_NORM))[0]
        if bad.size:
            raise InteropError(
                'tensor "%s": output channel %d has direction norm %g < '
                '%g (w = g v / ||v|| would not be finite)'
                % (name, bad[0], norms[bad[0]], MIN_DIRECTION_NORM))


def check_state_dict(state_dict, cfg):
    """The parameters of cfg's network from state_dict, checked as the
    library's loader checks a file: every name of docs/model.md present
    with exactly its shape, no other name, floating point values that are
    finite in float32 and within the bounds above. Returns an OrderedDict
    name -> float32 array in forward order; raises InteropError naming the
    first tensor that fails."""
    cfg = N.config(**cfg)
    shapes = N.param_shapes(cfg)
    axes = N.weight_norm_axes(cfg)
    for name in state_dict:
        if name not in shapes:
            hint = ""
            stripped = name.split(".", 1)[-1]
            if stripped in shapes:
                hint = ' (without its prefix "%s." it would be one)' \
                    % name.split(".", 1)[0]
            raise InteropError('tensor "%s" is not a parameter of this '
                               'config%s' % (name, hint))
    out = OrderedDict()
    for name, shape in shapes.items():
        if name not in state_dict:
            raise InteropError('tensor "%s" is missing (shape %s)'
                               % (name, shape))
        a = _as_array(name, state_dict[name])
        if tuple(a.shape) != tuple(shape):
            raise InteropError('tensor "%s" has shape %s, expected %s'
                               % (name, tuple(a.shape), tuple(shape)))
        _check_values(name, a, axes.get(name))
        out[name] = np.ascontiguousarray(a)
    return out


# ------------------------------------------------------------- export


def export_state_dict(state_dict, config, path):
    """Writes a weights-only checkpoint (pixelcnn-checkpoint-1, as
    `pixelcnn export` writes) of the network config with the parameters
    of state_dict (names of docs/model.md; tensors or arrays, converted
    to float32). config: a dict of config keys (torch_net.CONFIG_KEYS;
    missing ones take the defaults of docs/model.md), e.g. the one
    load_module returns. The file is written to a temp file next to path
    and renamed over it. Raises ValueError for a bad config and
    InteropError naming the tensor for a bad state dict; nothing is
    written then."""
    cfg = N.config(**config)
    tensors = check_state_dict(state_dict, cfg)
    meta = OrderedDict([("format", CHECKPOINT_FORMAT),
                        ("model", "pixelcnn++")])
    meta.update(N.config_to_metadata(cfg, keys=N.CONFIG_KEYS))
    N.write_safetensors(path, tensors, meta)


# --------------------------------------------------------------- loading


def _file_config(path, meta, stage):
    """(config, tensor prefix, is_chain) of a checkpoint or chain file."""
    fmt = meta.get("format")
    if fmt == CHECKPOINT_FORMAT:
        if stage not in (None, 0):
            raise InteropError("%s: a model checkpoint has one stage; "
                               "stage=%r" % (path, stage))
        prefix, chain = "", False
    elif fmt == CHAIN_FORMAT:
        n = meta.get("stages", "")
        if not n.isdigit() or int(n) < 1:
            raise InteropError('%s: metadata "stages" = "%s" is not a '
                               'positive integer' % (path, n))
        n = int(n)
        if stage is None and n > 1:
            raise InteropError("%s: a chain of %d stages: give stage= "
                               "(0..%d)" % (path, n, n - 1))
        stage = stage or 0
        if not 0 <= stage < n:
            raise InteropError("%s: stage %r not in 0..%d"
                               % (path, stage, n - 1))
        prefix, chain = "s%d." % stage, True
    else:
        raise InteropError('%s: metadata "format" = %r is neither %s nor %s'
                           % (path, fmt, CHECKPOINT_FORMAT, CHAIN_FORMAT))
    try:
        cfg, missing = N.config_from_metadata(meta, prefix)
    except ValueError as e:
        raise InteropError("%s: %s" % (path, e)) from None
    absent = [k for k in missing if k in N.BASE_KEYS]
    if absent:
        raise InteropError('%s: metadata has no "%s%s"'
                           % (path, prefix, absent[0]))
    return cfg, prefix, chain


def _check_file_tensors(path, tensors, shapes, prefix, chain):
    """No tensor of the file (of the stage, in a chain file) lies outside
    what the library accepts: the parameters, and in a checkpoint their
    EMA and Adam moments."""
    extra = TRAINING_PREFIXES if not chain else ()
    for name in tensors:
        if not name.startswith(prefix):
            if chain:
                continue  # another stage's
        base = name[len(prefix):]
        for p in extra:
            if base.startswith(p):
                base = base[len(p):]
                break
        if base not in shapes:
            raise InteropError('%s: tensor "%s" is not a parameter of the '
                               'model its metadata describe' % (path, name))


def load_state(path, ema=False, stage=None):
    """(OrderedDict name -> float32 array, config) of a file of ours: a
    training checkpoint (raw weights, or with ema=True its EMA weights
    "ema.<name>"), a weights-only checkpoint (pixelcnn export,
    export_state_dict), or stage `stage` of a chain file (its one set of
    weights; stage may be omitted for a chain of one stage)."""
    try:
        tensors, meta = N.read_safetensors(path)
    except (KeyError, TypeError) as e:
        raise InteropError("%s: malformed safetensors header (%s)"
                           % (path, e)) from None
    except ValueError as e:
        raise InteropError(str(e)) from None
    cfg, prefix, chain = _file_config(path, meta, stage)
    shapes = N.param_shapes(cfg)
    _check_file_tensors(path, tensors, shapes, prefix, chain)
    if ema and chain:
        raise InteropError("%s: a chain file holds one set of weights "
                           "(chosen by pixelcnn chain --weights); "
                           "ema=True does not apply" % path)
    src = prefix + ("ema." if ema else "")
    if ema and (src + next(iter(shapes))) not in tensors:
        raise InteropError("%s: no EMA weights (a weights-only file holds "
                           "one set: load it with ema=False)" % path)
    prefix_has_trainer = any(n.startswith(prefix + t) for n in tensors
                             for t in TRAINING_PREFIXES)
    state = OrderedDict()
    for name, shape in shapes.items():
        a = tensors.get(src + name)
        if a is None:
            raise InteropError('%s: tensor "%s" is missing'
                               % (path, src + name))
        if a.dtype == np.float16 and not prefix_has_trainer:
            a = a.astype(np.float32)  # a weights-only file stored as F16
        if a.dtype != np.float32 or tuple(a.shape) != tuple(shape):
            raise InteropError('%s: tensor "%s" is %s %s, expected float32 '
                               '%s' % (path, src + name, a.dtype,
                                       tuple(a.shape), tuple(shape)))
        state[name] = a
    try:
        state = check_state_dict(state, cfg)
    except InteropError as e:
        raise InteropError("%s: %s" % (path, e)) from None
    return state, cfg


def load_module(path, ema=False, stage=None, dtype=torch.float32):
    """(torch_net.PixelCNNpp in eval mode, config dict) from a file of
    ours; see load_state for ema and stage. Note that `pixelcnn eval`
    uses the EMA weights of a training checkpoint by default: compare
    with ema=True (or give it --weights raw)."""
    state, cfg = load_state(path, ema=ema, stage=stage)
    net = N.PixelCNNpp(cfg, dtype=dtype)
    net.load_params({n: torch.from_numpy(a) for n, a in state.items()})
    return net.eval(), cfg


# ------------------------------------------------------------ bits/dim


def _tensor(a, dtype=None):
    t = a if torch.is_tensor(a) else torch.from_numpy(np.asarray(a))
    return t if dtype is None else t.to(dtype)


def image_bits_per_dim(module, x, labels=None, cond=None, batch=64):
    """Each image's -log2 p(x) / (C H W), a float64 numpy array (N,), in
    eval mode (no dropout; the module's mode is restored). x (N, C, H, W)
    integers (uint8 numpy or tensor); labels (N,) for a class-conditional
    model; cond (N, cond_channels, H, W) float for a map-conditional one
    (stage_inputs makes both from images)."""
    x = _tensor(x)
    cfg = module.cfg
    dims = cfg["channels"] * cfg["height"] * cfg["width"]
    out = np.empty(len(x), dtype=np.float64)
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch):
                lb = None if labels is None else \
                    _tensor(labels[i:i + batch], torch.long)
                cb = None if cond is None else _tensor(cond[i:i + batch])
                logp = module.log_prob(x[i:i + batch], lb, cb)
                nats = logp.double().sum(dim=(1, 2, 3)).numpy()
                out[i:i + len(nats)] = -nats / (dims * math.log(2.0))
    finally:
        module.train(was)
    return out


def bits_per_dim(module, x, labels=None, cond=None, batch=64):
    """The mean bits/dim of the images, as `pixelcnn eval` prints it:
    -sum log2 p / (N C H W). Arguments as image_bits_per_dim."""
    return float(image_bits_per_dim(module, x, labels, cond, batch).mean())


# ---------------------------------------------------------------- views


def half(x):
    """Each 2x2 block's mean per channel, rounded half up, in integers:
    (a + b + c + d + 2) // 4 (docs/chains.md)."""
    a = np.asarray(x, dtype=np.int32)
    s = a[..., 0::2, 0::2] + a[..., 0::2, 1::2] + a[..., 1::2, 0::2] + \
        a[..., 1::2, 1::2]
    return ((s + 2) // 4).astype(np.uint8)


def gray4(x):
    """4-bit gray, 16 levels: (299 R + 587 G + 114 B) // 16000 of RGB
    images, Y // 16 of gray ones; (N, 1, H, W) uint8."""
    a = np.asarray(x, dtype=np.int64)
    if a.shape[1] == 3:
        y = (299 * a[:, 0] + 587 * a[:, 1] + 114 * a[:, 2]) // 16000
    else:
        y = a[:, 0] // 16
    return y[:, None].astype(np.uint8)


def view_apply(x, halvings=0, gray=0, lab=0):
    """A view of images x (N, C, H, W) uint8: gray4(half^halvings(x))
    when gray, else half^halvings(x), with its number of levels (16 or
    256). Lab views are not covered (NotImplementedError)."""
    if lab:
        raise NotImplementedError("Lab views (view_lab, cond_view_lab) "
                                  "are not covered by torch_interop")
    x = np.asarray(x, dtype=np.uint8)
    for _ in range(halvings):
        if x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError("a %dx%d image cannot be halved"
                             % x.shape[2:4])
        x = half(x)
    return (gray4(x), 16) if gray else (x, 256)


def cond_map(cond, levels, height, width):
    """The condition map a model of height x width reads from condition
    images cond (N, c, h, w) of `levels` values (pcnn_cond_map): values
    scaled to cond * 2/(levels-1) - 1 in float32; smaller images repeated
    over blocks, larger ones (h = f height) folded space-to-depth into
    c f f channels, channel (c f + dy) f + dx."""
    cond = np.asarray(cond)
    n, c, h, w = cond.shape
    scale = np.float32(2.0 / (levels - 1))
    v = cond.astype(np.float32) * scale - np.float32(1.0)
    if h > height and h % height == 0 and w % width == 0 and \
            h // height == w // width and w > width:
        f = h // height
        v = v.reshape(n, c, height, f, width, f).transpose(0, 1, 3, 5, 2, 4)
        return np.ascontiguousarray(v.reshape(n, c * f * f, height, width))
    if height % h or width % w:
        raise ValueError("condition images %dx%d do not tile a %dx%d map"
                         % (h, w, height, width))
    v = np.repeat(np.repeat(v, height // h, axis=2), width // w, axis=3)
    return np.ascontiguousarray(v)


def stage_inputs(cfg, images, labels=None):
    """The inputs a model of config cfg reads for full-size images (N, C,
    H, W) uint8, as `pixelcnn eval` makes them: {"x": view(images),
    "labels": labels or None, "cond": the condition map of
    cond_view(images) or None}. For a plain model x is the images."""
    x, _ = view_apply(images, cfg["view_halvings"], cfg["view_gray4"],
                      cfg["view_lab"])
    out = {"x": x, "labels": None, "cond": None}
    if cfg["num_classes"]:
        if labels is None:
            raise ValueError("the model is class-conditional: give labels")
        out["labels"] = np.asarray(labels, dtype=np.int64)
    if cfg["cond_channels"]:
        c, levels = view_apply(images, cfg["cond_view_halvings"],
                               cfg["cond_view_gray4"], cfg["cond_view_lab"])
        out["cond"] = cond_map(c, levels, cfg["height"], cfg["width"])
        if out["cond"].shape[1] != cfg["cond_channels"]:
            raise ValueError("the condition map has %d channels, the model "
                             "takes %d" % (out["cond"].shape[1],
                                           cfg["cond_channels"]))
    want = (cfg["channels"], cfg["height"], cfg["width"])
    if tuple(x.shape[1:]) != want:
        raise ValueError("the view of these images is %s, the model takes %s"
                         % (tuple(x.shape[1:]), want))
    return out


# ----------------------------------------------------------------- data


def _read_bytes(path):
    with open(path, "rb") as f:
        buf = f.read()
    return gzip.decompress(buf) if buf[:2] == b"\x1f\x8b" else buf


def read_idx(path):
    """An IDX file of unsigned bytes (gzip or not) as a uint8 array."""
    buf = _read_bytes(path)
    if len(buf) < 4 or buf[:3] != b"\x00\x00\x08":
        raise ValueError("%s: not an IDX file of unsigned bytes" % path)
    nd = buf[3]
    dims = struct.unpack(">%dI" % nd, buf[4:4 + 4 * nd])
    n = int(np.prod(dims))
    body = buf[4 + 4 * nd:]
    if len(body) < n:
        raise ValueError("%s: truncated (%d of %d bytes)"
                         % (path, len(body), n))
    return np.frombuffer(body[:n], dtype=np.uint8).reshape(dims).copy()


def load_images(path, n=None, labels_path=None):
    """(images (N, C, H, W) uint8, labels (N,) int64 or None): the first
    n images of an IDX image file (gray, (N, 1, H, W); labels from the
    IDX1 file labels_path) or a CIFAR-10 binary file (records of 1 label
    byte + 3x32x32 bytes; its own labels)."""
    buf = _read_bytes(path)
    if buf[:3] == b"\x00\x00\x08":
        x = read_idx(path)
        if x.ndim == 3:
            x = x[:, None]
        x = x[:n]
        labels = None
        if labels_path:
            lab = read_idx(labels_path)
            if lab.ndim != 1 or len(lab) < len(x):
                raise ValueError("%s: not a label file for these images"
                                 % labels_path)
            labels = lab[:len(x)].astype(np.int64)
        return x, labels
    rec = 1 + 3 * 32 * 32
    if len(buf) % rec:
        raise ValueError("%s: %d bytes is neither an IDX file nor a whole "
                         "number of %d-byte CIFAR-10 records"
                         % (path, len(buf), rec))
    a = np.frombuffer(buf, dtype=np.uint8).reshape(-1, rec)[:n]
    return a[:, 1:].reshape(-1, 3, 32, 32).copy(), a[:, 0].astype(np.int64)
