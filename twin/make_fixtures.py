#!/usr/bin/python3
"""make_fixtures.py -- writes the twin fixtures, tests/fixtures/*.safetensors.

    /usr/bin/python3 twin/make_fixtures.py [--out tests/fixtures]

Every fixture holds a case's inputs, parameters, outputs and gradients. The
reference is computed by torch_ops.py in float64 with autograd, from inputs
that are first rounded to float32 (so the C library, which takes float32,
sees exactly the same inputs); everything is stored as F32 except images
(U8). Gradients are of L = sum(dy * y) for a fixed random dy (stored as
"dy"; "dlogp" for heads). The metadata (strings) describe the case and
record the torch and numpy versions. Before writing, the script checks the
twin against the header's formulas written out as loops (conv, deconv),
torch's gradcheck (heads) and the pmf against the log-probability.

The output is deterministic for given torch/numpy versions (numpy's PCG64
streams are stable; the maths is float64).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

# the network and ops live in the package python/pixelcnn/ (one copy)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "python"))
from pixelcnn import torch_ops as T  # noqa: E402

GENERATOR = "twin/make_fixtures.py"
ST_DTYPES = {"float32": "F32", "float64": "F64", "uint8": "U8",
             "int32": "I32", "int64": "I64"}


# ---------------------------------------------------------- safetensors


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array); metadata: dict str -> str.
    Data ordered by element size (largest first) so that every tensor is
    aligned; header padded with spaces to a multiple of 8 bytes."""
    header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}}
    order = sorted(range(len(tensors)),
                   key=lambda i: -tensors[i][1].dtype.itemsize)
    offsets, blobs, at = {}, [], 0
    for i in order:
        name, a = tensors[i]
        b = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
        offsets[name] = (at, at + len(b))
        blobs.append(b)
        at += len(b)
    for name, a in tensors:
        assert name not in header, name
        header[name] = {"dtype": ST_DTYPES[a.dtype.name],
                        "shape": [int(d) for d in a.shape],
                        "data_offsets": list(offsets[name])}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ------------------------------------------------------------- helpers


class Case:
    """Draws float32-rounded float64 tensors and collects the fixture."""

    def __init__(self, name, seed, **meta):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.tensors = []
        self.meta = {"case": name, "seed": str(seed),
                     "torch": torch.__version__, "numpy": np.__version__,
                     "generator": GENERATOR,
                     "reference": "float64 autograd from float32 inputs"}
        self.meta.update({k: str(v) for k, v in meta.items()})

    def normal(self, *shape, scale=1.0, grad=True):
        a = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        return torch.from_numpy(a).double().requires_grad_(grad)

    def uniform(self, lo, hi, *shape, grad=True):
        a = self.rng.uniform(lo, hi, shape).astype(np.float32)
        return torch.from_numpy(a).double().requires_grad_(grad)

    def put(self, name, t):
        a = t.detach().numpy() if torch.is_tensor(t) else np.asarray(t)
        if a.dtype != np.uint8:
            a = a.astype(np.float32)
        self.tensors.append((name, a))

    def write(self, out_dir):
        path = os.path.join(out_dir, self.name + ".safetensors")
        write_safetensors(path, self.tensors, self.meta)
        return path


def backward(y, dy, inputs):
    """Gradients of sum(dy * y) w.r.t. inputs (float64 autograd)."""
    return torch.autograd.grad((y * dy).sum(), inputs)


# ------------------------------------------------ checks of the twin


def conv_by_loops(x, w, b, pt, pl, s, Ho, Wo):
    """pixelcnn.h's conv formula, literally."""
    x, w, b = x.detach().numpy(), w.detach().numpy(), b.detach().numpy()
    B, Ci, H, W = x.shape
    Co, _, kh, kw = w.shape
    y = np.zeros((B, Co, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            for p in range(kh):
                for q in range(kw):
                    r, c = i * s + p - pt, j * s + q - pl
                    if 0 <= r < H and 0 <= c < W:
                        y[:, :, i, j] += x[:, :, r, c] @ w[:, :, p, q].T
    return y + b.reshape(1, -1, 1, 1)


def deconv_by_loops(x, w, b, ct, cl, s, Ho, Wo):
    """pixelcnn.h's transposed-conv formula, literally."""
    x, w, b = x.detach().numpy(), w.detach().numpy(), b.detach().numpy()
    B, Ci, H, W = x.shape
    _, Co, kh, kw = w.shape
    y = np.zeros((B, Co, Ho, Wo))
    for m in range(H):
        for n in range(W):
            for p in range(kh):
                for q in range(kw):
                    i, j = m * s + p - ct, n * s + q - cl
                    if 0 <= i < Ho and 0 <= j < Wo:
                        y[:, :, i, j] += x[:, :, m, n] @ w[:, :, p, q]
    return y + b.reshape(1, -1, 1, 1)


def check(cond, what):
    if not cond:
        raise SystemExit("make_fixtures: twin self-check failed: " + what)


# ------------------------------------------------------------- cases


def conv_case(kind, kh, kw, stride, seed):
    tag = "down" if kind == T.DOWN else "downright"
    k = Case("conv_%s_%dx%d_s%d" % (tag, kh, kw, stride), seed,
             op="conv2d", kind=kind, kh=kh, kw=kw, stride=stride)
    x = k.normal(2, 3, 5, 6)
    w = k.normal(4, 3, kh, kw, scale=0.5)
    b = k.normal(4)
    y = T.shifted_conv2d(x, w, b, kind, stride)
    dy = k.normal(*y.shape, grad=False)
    dx, dw, db = backward(y, dy, [x, w, b])
    pad = T.shifted_conv_pad(kind, kh, kw)
    ref = conv_by_loops(x, w, b, pad[2], pad[0], stride, y.shape[2],
                        y.shape[3])
    check(np.allclose(ref, y.detach().numpy(), atol=1e-12), k.name)
    check(y.shape[2] == -(-5 // stride) and y.shape[3] == -(-6 // stride),
          k.name + " output size")
    for n, t in [("x", x), ("w", w), ("b", b), ("y", y), ("dy", dy),
                 ("dx", dx), ("dw", dw), ("db", db)]:
        k.put(n, t)
    return k


def deconv_case(kind, kh, kw, stride, seed):
    tag = "down" if kind == T.DOWN else "downright"
    k = Case("deconv_%s_%dx%d_s%d" % (tag, kh, kw, stride), seed,
             op="deconv2d", kind=kind, kh=kh, kw=kw, stride=stride)
    x = k.normal(2, 3, 3, 4)
    w = k.normal(3, 4, kh, kw, scale=0.5)
    b = k.normal(4)
    y = T.shifted_deconv2d(x, w, b, kind, stride)
    dy = k.normal(*y.shape, grad=False)
    dx, dw, db = backward(y, dy, [x, w, b])
    cl = T.shifted_deconv_crop_left(kind, kw)
    ref = deconv_by_loops(x, w, b, 0, cl, stride, y.shape[2], y.shape[3])
    check(np.allclose(ref, y.detach().numpy(), atol=1e-12), k.name)
    check(tuple(y.shape[2:]) == (3 * stride, 4 * stride), k.name + " size")
    for n, t in [("x", x), ("w", w), ("b", b), ("y", y), ("dy", dy),
                 ("dx", dx), ("dw", dw), ("db", db)]:
        k.put(n, t)
    return k


def nin_case(seed):
    k = Case("nin", seed, op="nin")
    x = k.normal(2, 5, 3, 4)
    w = k.normal(3, 5, scale=0.5)
    b = k.normal(3)
    y = T.nin(x, w, b)
    dy = k.normal(*y.shape, grad=False)
    dx, dw, db = backward(y, dy, [x, w, b])
    for n, t in [("x", x), ("w", w), ("b", b), ("y", y), ("dy", dy),
                 ("dx", dx), ("dw", dw), ("db", db)]:
        k.put(n, t)
    return k


def unary_case(name, fn, in_shape, seed, scale=1.0, **meta):
    """y = fn(x) and dx, for the shifts and pointwise ops."""
    k = Case(name, seed, op=name, **meta)
    x = k.normal(*in_shape, scale=scale)
    y = fn(x)
    dy = k.normal(*y.shape, grad=False)
    (dx,) = backward(y, dy, [x])
    for n, t in [("x", x), ("y", y), ("dy", dy), ("dx", dx)]:
        k.put(n, t)
    return k


def add_case(seed):
    k = Case("add", seed, op="add")
    a = k.normal(2, 3, 4, 5)
    b = k.normal(2, 3, 4, 5)
    y = T.add(a, b)
    dy = k.normal(*y.shape, grad=False)
    da, db = backward(y, dy, [a, b])
    for n, t in [("a", a), ("b", b), ("y", y), ("dy", dy), ("da", da),
                 ("db", db)]:
        k.put(n, t)
    return k


def dropout_case(seed):
    p, rseed = 0.5, 12345678901234567891  # a seed above 2^63: all 64 bits
    k = Case("dropout", seed, op="dropout", p=p, dropout_seed=rseed)
    x = k.normal(2, 3, 8, 8)
    y = T.dropout(x, p, rseed)
    dy = k.normal(*y.shape, grad=False)
    (dx,) = backward(y, dy, [x])
    kept = T.dropout_keep(tuple(x.shape), p, rseed).double().mean().item()
    check(0.35 < kept < 0.65, "dropout keeps %.2f" % kept)
    k.meta["kept_fraction"] = "%.4f" % kept
    for n, t in [("x", x), ("y", y), ("dy", dy), ("dx", dx)]:
        k.put(n, t)
    return k


def weightnorm_case(name, v_shape, axis, seed):
    k = Case(name, seed, op="weightnorm", axis=axis)
    v = k.normal(*v_shape)
    g = k.uniform(0.5, 2.0, v_shape[axis])
    w = T.weight_norm(v, g, axis)
    dw = k.normal(*w.shape, grad=False)
    dv, dg = backward(w, dw, [v, g])
    for n, t in [("v", v), ("g", g), ("w", w), ("dw", dw), ("dv", dv),
                 ("dg", dg)]:
        k.put(n, t)
    return k


def data_init_case(seed):
    scale = float(np.float32(0.1))
    k = Case("weightnorm_data_init", seed, op="weightnorm_data_init",
             scale="0.1")
    shift = k.normal(1, 4, 1, 1, scale=2.0, grad=False)
    spread = k.uniform(0.2, 3.0, 1, 4, 1, 1, grad=False)
    y_in = (k.normal(2, 4, 3, 5, grad=False) * spread + shift)
    y_in = y_in.float().double()  # the float32 layer output
    g, b, y = T.weight_norm_data_init(y_in, scale)
    k.put("y_in", y_in)
    k.put("scale", torch.tensor(scale))
    k.put("g", g)
    k.put("b", b)
    k.put("y", y)
    return k


# ---------------------------------------------------------------- heads


def dmol_case(C, M, seed):
    """Pixels at 0, 255, 1, 254 and in between; components whose mean sits
    near the pixel (the log(cdf_delta) branch) and far (the density
    branch); log-scales from -8 to -0.5 (some clamped at -7). No (pixel,
    channel, component) has cdf_delta within a factor 4 of the 1e-5
    threshold, so float32 evaluations take the same branch."""
    B, H, W = 2, 3, 4
    nc = C * (C - 1) // 2
    k = Case("dmol_c%d" % C, seed, head="dmol", channels=C, nr_mix=M)
    rng = k.rng
    x = rng.integers(2, 254, size=(B, C, H, W))
    flat = x.reshape(B, C, H * W)
    for c in range(C):
        for i, v in enumerate([0, 255, 1, 254, 0, 255]):
            flat[i % B, c, (3 * c + 5 * i) % (H * W)] = v
    x = flat.reshape(B, C, H, W).astype(np.uint8)
    xs = x.astype(np.float64) / 127.5 - 1.0
    logits = rng.standard_normal((B, M, H, W))
    coef_raw = rng.standard_normal((B, nc, M, H, W)) if nc else None
    log_scales = rng.uniform(-8.0, -0.5, (B, C, M, H, W))
    near = rng.random((B, C, M, H, W)) < 0.5

    def draw_target(shape):
        return np.where(rng.random(shape) < 0.5,
                        rng.normal(0.0, 0.02, shape),
                        rng.uniform(-1.1, 1.1, shape))

    offset = draw_target((B, C, M, H, W))
    xt = torch.from_numpy(x)
    for attempt in range(100):
        # mean_c = xs_c + offset (near) or a uniform draw; the raw mean
        # subtracts the coefficient terms so the effective mean is that.
        target = np.where(near, xs[:, :, None] + offset, offset)
        means = target.copy()
        for c in range(C):
            for j in range(c):
                means[:, c] -= np.tanh(coef_raw[:, T.coef_index(c, j)]
                                       .astype(np.float32)) * \
                    xs[:, j][:, None]
        parts = [logits, means.reshape(B, C * M, H, W),
                 log_scales.reshape(B, C * M, H, W)]
        if nc:
            parts.append(coef_raw.reshape(B, nc * M, H, W))
        l = torch.from_numpy(np.concatenate(parts, axis=1)
                             .astype(np.float32)).double()
        delta = T.dmol_cdf_delta(l, xt, C, M).numpy()
        edge = np.isin(x, [0, 255])[:, :, None]
        risky = (~edge) & (delta > 1e-5 / 4) & (delta < 1e-5 * 4)
        if not risky.any():
            break
        offset = np.where(risky, draw_target(offset.shape), offset)
    else:
        raise SystemExit("dmol_case: could not avoid the branch threshold")
    mid = (~edge) & (delta > 1e-5)
    low = (~edge) & (delta <= 1e-5)
    check(mid.any() and low.any(), "dmol_c%d lacks a branch" % C)
    check((log_scales < -7).any(), "dmol_c%d has no clamped log-scale" % C)
    k.meta.update(branch_log_delta=str(int(mid.sum())),
                  branch_density=str(int(low.sum())),
                  branch_edge=str(int(edge.sum() * M)))
    l.requires_grad_(True)
    logp = T.dmol_log_prob(l, xt, C, M)
    r = k.normal(B, 1, H, W, grad=False)
    (dl,) = backward(logp, r, [l])
    check(torch.autograd.gradcheck(
        lambda t: T.dmol_log_prob(t, xt, C, M), (l,), eps=1e-7, atol=1e-6),
        "dmol gradcheck")
    pmfs = [T.dmol_pmf(l.detach(), xt, C, M, c) for c in range(C)]
    # the chain of pmfs at x gives p(x): equal to exp(logp) wherever no
    # component of any channel used the density branch
    chain = sum(torch.log(pm.gather(1, xt[:, c:c + 1].long()))
                for c, pm in enumerate(pmfs))
    exact = torch.from_numpy(~low.any(axis=(1, 2)))[:, None]
    check(torch.allclose(chain[exact], logp.detach()[exact], atol=1e-9),
          "dmol pmf chain vs logp")
    for pm in pmfs:
        check(torch.allclose(pm.sum(1), torch.ones(1, dtype=pm.dtype),
                             atol=1e-12), "pmf sums to 1")
    k.put("l", l)
    k.put("x", x)
    k.put("logp", logp)
    k.put("dlogp", r)
    k.put("dl", dl)
    for c, pm in enumerate(pmfs):
        k.put("pmf%d" % c, pm)
    float32_estimates(k, l, xt, r, logp, dl, pmfs, C, M)
    return k


def float32_estimates(k, l, xt, r, logp, dl, pmfs, C, M):
    """Records how far float32 evaluations are from the float64 reference,
    as a guide for the C tolerances (not a requirement): "plain" evaluates
    the spec as written (sigmoid differences; pmf weights as products of
    CDF differences, which can underflow to 0/0 = nan), "stable" is the
    twin's log-space pmf run in float32."""

    def maxerr(a, b):
        e = (a.detach().double() - b.detach().double()).abs()
        return float("nan") if torch.isnan(e).any() else e.max().item()

    l32 = l.detach().float().requires_grad_(True)
    lp32 = T.dmol_log_prob_naive(l32, xt, C, M)
    (dl32,) = torch.autograd.grad((lp32 * r.float()).sum(), [l32])
    l32 = l32.detach()
    err = {"plain_max_abs_err_logp": maxerr(lp32, logp),
           "plain_max_abs_err_dl": maxerr(dl32, dl),
           "plain_max_abs_err_pmf": np.max(
               [maxerr(T.dmol_pmf_naive(l32, xt, C, M, c), pm)
                for c, pm in enumerate(pmfs)]),
           "stable_max_abs_err_pmf": np.max(
               [maxerr(T.dmol_pmf(l32, xt, C, M, c), pm)
                for c, pm in enumerate(pmfs)])}
    for name, e in err.items():
        k.meta["f32_" + name] = "%.3g" % e


def categorical_case(C, K, seed):
    B, H, W = 2, 3, 4
    k = Case("categorical_k%d" % K, seed, head="categorical", channels=C,
             levels=K)
    x = k.rng.integers(0, K, size=(B, C, H, W))
    x[0, :, 0, 0], x[1, :, 2, 3] = 0, K - 1
    x = x.astype(np.uint8)
    xt = torch.from_numpy(x)
    l = k.normal(B, C * K, H, W, scale=2.0)
    logp = T.cat_log_prob(l, xt, K)
    r = k.normal(B, 1, H, W, grad=False)
    (dl,) = backward(logp, r, [l])
    pmfs = [T.cat_pmf(l.detach(), K, c) for c in range(C)]
    chain = sum(torch.log(pm.gather(1, xt[:, c:c + 1].long()))
                for c, pm in enumerate(pmfs))
    check(torch.allclose(chain, logp.detach(), atol=1e-12), "cat chain")
    k.put("l", l)
    k.put("x", x)
    k.put("logp", logp)
    k.put("dlogp", r)
    k.put("dl", dl)
    for c, pm in enumerate(pmfs):
        k.put("pmf%d" % c, pm)
    return k


def all_cases():
    """Every fixture, each with its own seed (so adding one changes no
    other)."""
    D, DR = T.DOWN, T.DOWN_RIGHT
    return [
        lambda: conv_case(D, 2, 3, 1, 101),
        lambda: conv_case(D, 2, 3, 2, 102),
        lambda: conv_case(DR, 2, 2, 1, 103),
        lambda: conv_case(DR, 2, 2, 2, 104),
        lambda: deconv_case(D, 2, 3, 2, 111),
        lambda: deconv_case(DR, 2, 2, 2, 112),
        lambda: nin_case(121),
        lambda: unary_case("down_shift", T.down_shift, (2, 3, 4, 5), 131),
        lambda: unary_case("right_shift", T.right_shift, (2, 3, 4, 5), 132),
        lambda: unary_case("elu", T.elu, (2, 3, 4, 5), 133, scale=2.0),
        lambda: unary_case("concat_elu", T.concat_elu, (2, 3, 4, 5), 134,
                           scale=2.0),
        lambda: unary_case("gate", T.gate, (2, 6, 4, 5), 135, scale=2.0),
        lambda: add_case(136),
        lambda: dropout_case(137),
        lambda: weightnorm_case("weightnorm_conv", (4, 3, 2, 3), 0, 141),
        lambda: weightnorm_case("weightnorm_nin", (3, 5), 0, 142),
        lambda: weightnorm_case("weightnorm_deconv", (3, 4, 2, 2), 1, 143),
        lambda: data_init_case(144),
        lambda: dmol_case(1, 3, 151),
        lambda: dmol_case(2, 3, 152),
        lambda: dmol_case(3, 4, 153),
        lambda: categorical_case(3, 16, 161),
    ]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "tests",
                                                  "fixtures"))
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for make in all_cases():
        k = make()
        path = k.write(args.out)
        size = os.path.getsize(path)
        total += size
        extra = "".join("  %s=%s" % (n[4:].replace("max_abs_err_", ""), v)
                        for n, v in sorted(k.meta.items())
                        if n.startswith("f32_"))
        print("%-36s %7d bytes%s" % (os.path.basename(path), size,
                                      ("  float32 max errors:" + extra)
                                      if extra else ""))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
