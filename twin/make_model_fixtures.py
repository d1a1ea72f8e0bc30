#!/usr/bin/python3
"""make_model_fixtures.py -- writes the whole-network fixtures,
tests/fixtures/model_*.safetensors, from the twin of docs/model.md.

    /usr/bin/python3 twin/make_model_fixtures.py [--out tests/fixtures]

model_tiny, model_tiny_cond: random parameters (every v, g, b and class_w
random, so every term matters), a batch of images (plus labels and a
condition map for the conditioned one), and the float64 reference: the
network output "l", the per-pixel "logp", the loss "bpd" (mean bits/dim
over the batch), "dl" = d bpd / d l and "grad.<name>" = d bpd / d param for
every parameter. model_tiny_init: the data-dependent initialization of the
tiny network on a batch of 4 (v and x in, g and b out).

Parameters and inputs are drawn in float64 and rounded to float32 (so the
C library sees exactly the same numbers); the reference is computed from
them in float64. Everything is F32 except the images (U8) and the labels
(I32). The metadata hold the config keys as strings, the torch and numpy
versions, the seeds, the DMOL branch counts, and how far a float32 run of
the twin falls from the reference (f32_*, a guide for C tolerances).

Before writing, the script checks the twin and stops on failure: gradcheck
on a small conditioned network (all parameters and the condition map),
directional derivatives of every fixture's loss, exact causality (changing
pixel (i, j) changes no output at (i, j) or before it in raster order),
no blind spot (every earlier pixel reaches the output), parameter use
(each checkpoint name read once, in table order), the data-init invariants
and the safetensors round trip.
"""
import argparse
import os
import sys

import numpy as np
import torch

# the network and ops live in the package python/pixelcnn/ (one copy)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "python"))
from pixelcnn import torch_ops as T  # noqa: E402
from pixelcnn import torch_net as P  # noqa: E402

GENERATOR = "twin/make_model_fixtures.py"

TINY = dict(channels=3, height=8, width=8, nr_resnet=1, nr_filters=6,
            nr_mix=2, nr_resolutions=3, dropout=0.0, num_classes=0,
            cond_channels=0)
TINY_COND = dict(channels=1, height=8, width=8, nr_resnet=1, nr_filters=8,
                 nr_mix=2, nr_resolutions=2, dropout=0.0, num_classes=3,
                 cond_channels=2)
# the gradcheck network: every kind of layer, as small as it gets
MINI = dict(channels=3, height=4, width=4, nr_resnet=1, nr_filters=2,
            nr_mix=2, nr_resolutions=2, dropout=0.0, num_classes=2,
            cond_channels=1)


def check(cond, what):
    if not cond:
        raise SystemExit("make_model_fixtures: self-check failed: " + what)


def f32(a):
    """float64 tensor of the float32-rounded values of a."""
    return torch.from_numpy(np.asarray(a, dtype=np.float32)).double()


# ------------------------------------------------------------- drawing


def draw_params(net, rng, random_gb=True, low_log_scales=False):
    """v ~ N(0, 0.05^2); g ~ U[0.5, 1.5], b ~ N(0, 0.1^2), class_w ~
    N(0, 0.1^2) when random_gb (else g = 1, b = 0, class_w = 0); all
    rounded to float32. With low_log_scales the log-scale block of out.b
    is spread over [-4.75, -1.25] instead (evenly spaced, jittered by
    +-0.25, shuffled), so that the head takes both of its interior
    branches (log cdf_delta and the density at the bin centre)."""
    C, M = net.cfg["channels"], net.cfg["nr_mix"]
    with torch.no_grad():
        for n, p in net.params.items():
            shape = tuple(p.shape)
            if n.endswith(".v"):
                a = rng.standard_normal(shape) * 0.05
            elif not random_gb:
                a = np.ones(shape) if n.endswith(".g") else np.zeros(shape)
            elif n.endswith(".g"):
                a = rng.uniform(0.5, 1.5, shape)
            else:  # .b and class_w
                a = rng.standard_normal(shape) * 0.1
                if n == "out.b" and low_log_scales:
                    a[(1 + C) * M:(1 + 2 * C) * M] = rng.permutation(
                        np.linspace(-4.5, -1.5, C * M) +
                        rng.uniform(-0.25, 0.25, C * M))
            p.copy_(f32(a).to(p.dtype))


def draw_images(rng, B, C, H, W):
    """Random pixels, with 0, 255, 1 and 254 in every channel."""
    x = rng.integers(0, 256, size=(B, C, H * W))
    for c in range(C):
        for k, v in enumerate([0, 255, 1, 254, 255, 0]):
            x[k % B, c, (5 * k + 3 * c + 1) % (H * W)] = v
    return torch.from_numpy(x.reshape(B, C, H, W).astype(np.uint8))


def draw_inputs(cfg, rng, B):
    x = draw_images(rng, B, cfg["channels"], cfg["height"], cfg["width"])
    labels = cond = None
    if cfg["num_classes"]:
        labels = torch.from_numpy(
            rng.permutation(np.arange(B) % cfg["num_classes"])
            .astype(np.int32))
    if cfg["cond_channels"]:
        cond = f32(rng.standard_normal((B, cfg["cond_channels"],
                                        cfg["height"], cfg["width"])))
    return x, labels, cond


# ------------------------------------------------------------- checks


def branch_report(l, x, cfg):
    """DMOL branch counts over (pixel, channel, component), and the
    (B, C, H, W) mask of the image values at which some component has
    cdf_delta within a factor 4 of the 1e-5 threshold (a float32 run might
    take the other branch) or a raw log-scale within 1e-3 of the -7
    clamp."""
    C, M = cfg["channels"], cfg["nr_mix"]
    delta = T.dmol_cdf_delta(l.detach(), x, C, M).numpy()
    edge = np.isin(x.numpy(), [0, 255])[:, :, None]
    edge = np.broadcast_to(edge, delta.shape)
    risky = (~edge) & (delta > 1e-5 / 4) & (delta < 1e-5 * 4)
    raw_ls = l.detach()[:, (1 + C) * M:(1 + 2 * C) * M].numpy()
    rep = {"branch_log_delta": int(((~edge) & (delta > 1e-5)).sum()),
           "branch_density": int(((~edge) & (delta <= 1e-5)).sum()),
           "branch_edge": int(edge.sum()),
           "clamped_log_scales": int((raw_ls < -7).sum())}
    near_clamp = (np.abs(raw_ls + 7) < 1e-3).reshape(delta.shape)
    return rep, (risky | near_clamp).any(axis=2)


def loss_and_grads(net, x, labels, cond):
    l = net.forward(x, labels, cond)
    logp = P.dmol_log_prob(l, x, net.cfg)
    bpd = P.bits_per_dim(logp, net.cfg)
    grads = torch.autograd.grad(bpd, [l] + list(net.params.values()))
    return l, logp, bpd, grads[0], grads[1:]


def check_dropout():
    """The vectorized mask equals torch_ops' (itself checked bit for bit
    against the C library by the dropout fixture), and a training forward
    pass draws one mask per gated resnet, in forward order, with the seed
    the callable gives."""
    for s in (0, 1, 12345678901234567891, (1 << 64) - 1):
        check(np.array_equal(P.u01_np(s, 500), T.u01_array(s, 500)),
              "vectorized u01 vs torch_ops.u01_array")
        for p in (0.5, 0.1, 0.9):
            check(torch.equal(P.dropout_keep((2, 3, 5, 7), p, s),
                              T.dropout_keep((2, 3, 5, 7), p, s)),
                  "dropout mask vs torch_ops.dropout_keep")
    cfg = P.config(**dict(TINY, dropout=0.5))
    net = P.PixelCNNpp(cfg, dtype=torch.float64).train()
    draw_params(net, np.random.default_rng(5))
    x, _, _ = draw_inputs(cfg, np.random.default_rng(6), 2)
    calls = []
    net.dropout_seed = lambda prefix, k: calls.append((prefix, k)) or \
        T.hash64(99, k)
    l1 = net.forward(x)
    resnets = [n[:-len(".conv_in")] for n, _, _ in P.layer_table(cfg)
               if n.endswith(".conv_in")]
    check(calls == [(n, k) for k, n in enumerate(resnets)],
          "dropout calls: one per gated resnet, in forward order")
    l2 = net.forward(x)
    net.eval()
    l3 = net.forward(x)
    check(torch.equal(l1, l2) and not torch.equal(l1, l3),
          "dropout: same seeds, same output; eval differs")
    return "dropout masks == torch_ops' (4 seeds x 3 rates); one mask " \
        "per gated resnet (%d) in forward order" % len(resnets)


def check_gradcheck():
    """torch.autograd.gradcheck of bpd over every parameter and the
    condition map of a small conditioned network (all layer kinds)."""
    cfg = P.config(**MINI)
    rng = np.random.default_rng(7)
    net = P.PixelCNNpp(cfg, dtype=torch.float64)
    draw_params(net, rng)
    x, labels, cond = draw_inputs(cfg, rng, 2)
    names = list(net.params)
    inputs = [p.detach().clone().requires_grad_(True)
              for p in net.params.values()]
    inputs.append(cond.clone().requires_grad_(True))

    def f(*args):
        net.params = dict(zip(names, args[:-1]))
        return net.bits_per_dim(x, labels, args[-1])

    ok = torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7,
                                  rtol=1e-5)
    n = sum(t.numel() for t in inputs)
    check(ok, "gradcheck of the mini network")
    return "gradcheck: mini network (%d parameter tensors, %d numbers, " \
           "incl. cond) ok" % (len(names), n)


def check_directional(net, x, labels, cond, grads, rng, ndir=3):
    """(bpd(p + e d) - bpd(p - e d)) / 2e against <grad, d> for random d
    over all parameters at once; e = 1e-7 (the truncation error, which
    scales as e^2, is ~3e-7 relative there with the head's small scales)."""
    base = [p.detach().clone() for p in net.params.values()]
    worst = 0.0
    for _ in range(ndir):
        dirs = [torch.from_numpy(rng.standard_normal(tuple(p.shape)))
                for p in base]
        exact = sum((g * d).sum().item() for g, d in zip(grads, dirs))
        vals = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for p, b0, d in zip(net.params.values(), base, dirs):
                    p.copy_(b0 + sign * 1e-7 * d)
                vals.append(net.bits_per_dim(x, labels, cond).item())
        fd = (vals[0] - vals[1]) / 2e-7
        rel = abs(fd - exact) / max(abs(exact), 1e-12)
        worst = max(worst, rel)
        check(rel < 1e-5, "directional derivative: fd %.12g vs autograd "
              "%.12g" % (fd, exact))
    with torch.no_grad():
        for p, b0 in zip(net.params.values(), base):
            p.copy_(b0)
    return worst


def check_causality(net, x, labels, cond):
    """For every pixel (i, j): changing x there (all channels) leaves l
    bit-for-bit unchanged at (i, j) and at every earlier pixel in raster
    order, and changes l at its right neighbour (i, j+1) (the ul stream)
    and the pixel below, (i+1, j) (the u stream)."""
    H, W = x.shape[2], x.shape[3]
    with torch.no_grad():
        l0 = net.forward(x, labels, cond)
        for i in range(H):
            for j in range(W):
                x2 = x.clone()
                x2[:, :, i, j] = (x2[:, :, i, j].int() + 128) % 256
                d = (net.forward(x2, labels, cond) != l0).any(dim=1) \
                    .any(dim=0)  # (H, W)
                flat = d.reshape(-1).numpy()
                k = i * W + j
                check(not flat[:k + 1].any(),
                      "causality: pixel (%d,%d) changes an earlier output"
                      % (i, j))
                if j + 1 < W:
                    check(d[i, j + 1], "pixel (%d,%d) does not reach its "
                          "right neighbour" % (i, j))
                if i + 1 < H:
                    check(d[i + 1, j], "pixel (%d,%d) does not reach the "
                          "pixel below" % (i, j))
    return H * W


def check_receptive_field(net, x, labels, cond):
    """The gradient of l at pixel (i, j) w.r.t. the scaled input is zero
    at (i, j) and after it, nonzero at every pixel of the rows above (no
    blind spot: true of these small images), and nonzero in row i on a
    run of pixels ending at (i, j-1) (the down-right stream's finite reach
    to the left: PixelCNN++ does not see the whole current row, e.g. the
    32x32 network of 5 resnets per resolution misses the first 9 pixels of
    the last row). For the last pixel and one in the middle."""
    H, W = x.shape[2], x.shape[3]
    xs = (x.double() / 127.5 - 1.0).requires_grad_(True)
    l = net.forward_scaled(xs, labels, cond)
    out = []
    for (i, j) in [(H - 1, W - 1), (H // 2, W // 2 - 1)]:
        (g,) = torch.autograd.grad(l[:, :, i, j].sum(), [xs],
                                   retain_graph=True)
        reach2 = (g.abs().sum(dim=(0, 1)) > 0).numpy()  # (H, W)
        reach = reach2.reshape(-1)
        k = i * W + j
        check(not reach[k:].any(), "pixel (%d,%d) depends on itself or a "
              "later pixel" % (i, j))
        check(reach2[:i].all(), "blind spot: pixel (%d,%d) misses a pixel "
              "of the rows above" % (i, j))
        row = reach2[i, :j]
        n = int(row.sum())
        check(n >= 1 and row[j - n:].all(), "pixel (%d,%d): its reach in "
              "its own row is not a run ending at its left" % (i, j))
        out.append("(%d,%d): all %d pixels above, %d of %d to the left"
                   % (i, j, i * W, n, j))
    return out


def check_params_used(net, x, labels, cond):
    used = net.used_params(x, labels, cond)
    check(used == list(net.params),
          "forward reads the parameters out of table order or not once")


def check_roundtrip(path, tensors, meta):
    back, meta2 = P.read_safetensors(path)
    check(list(back) == [n for n, _ in tensors], "round trip: names")
    for n, a in tensors:
        b = back[n]
        check(b.dtype == a.dtype and b.shape == a.shape and
              np.array_equal(a, b), "round trip: " + n)
    check(dict(meta2) == {k: str(v) for k, v in meta.items()},
          "round trip: metadata")


def float32_errors(net64, x, labels, cond, ref):
    """How far the twin run in float32 (from the same float32 numbers)
    falls from the float64 reference: max |err| of l, logp, dl, bpd, and of
    the parameter gradients (absolute, and relative to each tensor's
    largest reference value)."""
    net32 = P.PixelCNNpp(net64.cfg, dtype=torch.float32,
                         params=net64.state())
    c32 = cond.float() if cond is not None else None
    l, logp, bpd, dl, grads = loss_and_grads(net32, x, labels, c32)
    l64, logp64, bpd64, dl64, grads64 = ref

    def err(a, b):
        return (a.detach().double() - b.detach().double()).abs().max().item()

    gabs = max(err(a, b) for a, b in zip(grads, grads64))
    grel = max(err(a, b) / max(b.abs().max().item(), 1e-30)
               for a, b in zip(grads, grads64))
    return {"f32_max_abs_err_l": "%.3g" % err(l, l64),
            "f32_max_abs_err_logp": "%.3g" % err(logp, logp64),
            "f32_abs_err_bpd": "%.3g" % err(bpd, bpd64),
            "f32_max_abs_err_dl": "%.3g" % err(dl, dl64),
            "f32_max_abs_err_grad": "%.3g" % gabs,
            "f32_max_rel_err_grad": "%.3g" % grel}


# ------------------------------------------------------------- fixtures


def base_meta(cfg, seed, case):
    meta = P.config_to_metadata(cfg)
    meta.update(case=case, seed=str(seed), torch=torch.__version__,
                numpy=np.__version__, generator=GENERATOR,
                reference="float64 autograd from float32 parameters")
    return meta


def model_case(name, cfg_kw, seed, B=2):
    """Random parameters and inputs; the image values at which a DMOL
    branch decision lies near its threshold are redrawn until none is."""
    cfg = P.config(**cfg_kw)
    s = seed
    rng = np.random.default_rng(s)
    net = P.PixelCNNpp(cfg, dtype=torch.float64)
    draw_params(net, rng, low_log_scales=True)
    x, labels, cond = draw_inputs(cfg, rng, B)
    redrawn = 0
    for attempt in range(100):
        l, logp, bpd, dl, grads = loss_and_grads(net, x, labels, cond)
        rep, risky = branch_report(l, x, cfg)
        if not risky.any():
            break
        idx = np.argwhere(risky)
        redrawn += len(idx)
        for b, c, i, j in idx:
            x[b, c, i, j] = int(rng.integers(1, 255))
    else:
        raise SystemExit("%s: could not keep off the branch thresholds"
                         % name)
    rep["redrawn_pixel_values"] = redrawn
    notes = []
    check_params_used(net, x, labels, cond)
    worst = check_directional(net, x, labels, cond, grads, rng)
    notes.append("directional derivatives (3 random directions over all "
                 "%d parameters): worst rel err %.1e" %
                 (sum(p.numel() for p in net.parameters()), worst))
    npx = check_causality(net, x, labels, cond)
    notes.append("causality exact for all %d pixels" % npx)
    notes.append("receptive field: " +
                 "; ".join(check_receptive_field(net, x, labels, cond)))
    check(torch.isfinite(bpd) and all(torch.isfinite(g).all()
                                      for g in grads), "finite")

    meta = base_meta(cfg, s, name)
    meta.update(batch=str(B), loss="bpd = -sum(logp) / (B*C*H*W*ln 2)",
                grads="grad.<name> = d bpd / d <name>; dl = d bpd / d l")
    meta.update((k, str(v)) for k, v in rep.items())
    meta.update(float32_errors(net, x, labels, cond,
                               (l, logp, bpd, dl, grads)))
    tensors = [(n, p.detach().numpy().astype(np.float32))
               for n, p in net.params.items()]
    tensors.append(("x", x.numpy()))
    if labels is not None:
        tensors.append(("labels", labels.numpy().astype(np.int32)))
    if cond is not None:
        tensors.append(("cond", cond.numpy().astype(np.float32)))
    tensors += [("l", l.detach().numpy().astype(np.float32)),
                ("logp", logp.detach().numpy().astype(np.float32)),
                ("bpd", np.array(bpd.item(), dtype=np.float32)),
                ("dl", dl.numpy().astype(np.float32))]
    tensors += [("grad." + n, g.numpy().astype(np.float32))
                for n, g in zip(net.params, grads)]
    summary = "bpd %.6f, %s" % (bpd.item(), ", ".join(
        "%s=%s" % (k, v) for k, v in rep.items()))
    return tensors, meta, notes + [summary]


def init_case(name, cfg_kw, seed, B=4):
    """The data-dependent init: v random, g = 1, b = 0 before; g and b
    after, and the init pass's output l."""
    cfg = P.config(**cfg_kw)
    rng = np.random.default_rng(seed)
    net = P.PixelCNNpp(cfg, dtype=torch.float64)
    draw_params(net, rng, random_gb=False)
    x, labels, cond = draw_inputs(cfg, rng, B)
    l = net.data_init(x, labels, cond)
    notes = []
    # every layer's normalized output: mean 0, std = its scale
    worst = 0.0
    for lname, scale, y in net._init_stats:
        m = y.mean(dim=(0, 2, 3))
        sd = y.std(dim=(0, 2, 3), unbiased=False)
        worst = max(worst, m.abs().max().item(),
                    (sd - scale).abs().max().item() / scale)
    # (std = scale sqrt(var / (var + 1e-10)): 1e-6 allows var >= 1e-4)
    check(worst < 1e-6, "data init: a layer output is not normalized")
    check(len(net._init_stats) == sum(
        1 for _, k, _ in P.layer_table(cfg) if k != "plain"),
        "data init: not every layer was initialized")
    with torch.no_grad():
        l2 = net.forward(x, labels, cond)
    err = (l - l2).abs().max().item()
    check(err < 1e-9, "data init: forward after init differs from the init "
          "pass (%.3g)" % err)
    notes.append("data init: %d layers normalized (worst %.1e), forward "
                 "after init == init pass (max diff %.1e)"
                 % (len(net._init_stats), worst, err))
    # float32 estimate
    net32 = P.PixelCNNpp(cfg, dtype=torch.float32)
    draw_params(net32, np.random.default_rng(seed), random_gb=False)
    net32.data_init(x, labels, cond)
    gerr = berr = 0.0
    for n in net.params:
        a, b = net32.params[n].detach().double(), net.params[n].detach()
        if n.endswith(".g"):
            gerr = max(gerr, ((a - b).abs() / b.abs()).max().item())
        elif n.endswith(".b"):
            berr = max(berr, (a - b).abs().max().item())
    meta = base_meta(cfg, seed, name)
    meta.update(batch=str(B), before="v as stored, g = 1, b = 0",
                init_scale_conv_out="0.1 (the float32 0.1)",
                init_scale_other="1", init_eps="1e-10",
                f32_max_rel_err_g="%.3g" % gerr,
                f32_max_abs_err_b="%.3g" % berr)
    tensors = [(n, p.detach().numpy().astype(np.float32))
               for n, p in net.params.items()]
    tensors += [("x", x.numpy()),
                ("l", l.numpy().astype(np.float32))]
    return tensors, meta, notes


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "tests",
                                                  "fixtures"))
    args = ap.parse_args()
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)

    print("self-check: " + check_dropout())
    print("self-check: " + check_gradcheck())

    cases = [("model_tiny", lambda: model_case("model_tiny", TINY, 201)),
             ("model_tiny_cond",
              lambda: model_case("model_tiny_cond", TINY_COND, 202)),
             ("model_tiny_init",
              lambda: init_case("model_tiny_init", TINY, 203))]
    total = 0
    for name, make in cases:
        tensors, meta, notes = make()
        path = os.path.join(args.out, name + ".safetensors")
        P.write_safetensors(path, tensors, meta)
        check_roundtrip(path, tensors, meta)
        size = os.path.getsize(path)
        total += size
        print("%-28s %7d bytes, %d tensors" % (os.path.basename(path), size,
                                              len(tensors)))
        for n in notes:
            print("    " + n)
        print("    float32 twin vs reference: " + "  ".join(
            "%s=%s" % (k[4:], v) for k, v in sorted(meta.items())
            if k.startswith("f32_")))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
