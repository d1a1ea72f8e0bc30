#!/usr/bin/python3
"""lean_train.py -- a lean PyTorch PixelCNN++ trainer, the peer of
`pixelcnn train` in `make bench-quality` (docs/training.md).

    /usr/bin/python3 twin/lean_train.py --data DIR [--steps N] [--minutes M]
        [--nr-resnet 1] [--nr-filters 48] [--nr-mix 5] [--threads 1]
        [--csv FILE] [--test-limit 2000] [--seed 1] [--lr 1e-3]

The network is docs/model.md's (down and down-right shifted convs, gated
resnets with concat_elu, nr_resolutions 3, a DMOL head of nr_mix
logistics), built from plain nn.Conv2d / nn.ConvTranspose2d layers with
PyTorch's default initialization: no weight normalization and no
data-dependent init. The recipe is `pixelcnn train`'s: batch 16, Adam with
betas (0.95, 0.9995) and eps 1e-8 inside the square root, lr * decay^step,
an EMA of the weights with decay min(0.9995, (1+t)/(10+t)), no dropout, no
gradient clipping. The data are the CIFAR-10 binary files of DIR
(data_batch_1..5.bin that exist, in order) in the library's epoch order:
src/data/shuffle.c's permutation of (seed, epoch), restated here, and an
epoch's remainder smaller than a batch skipped. So step k sees the images
`pixelcnn train --seed S` sees at step k.

All parameters live in one flat tensor and their gradients in another, so
the optimizer and the EMA are a few whole-tensor ops per step.

Writes one CSV line per step (step, bpd, gradient norm, seconds) to --csv and prints a
JSON line at the end: steps, seconds, the EMA weights' test bits/dim on the
first --test-limit images of test_batch.bin (unless --no-test) and, with
--exact FILE, on the first --exact-limit images of that CIFAR-10 binary
file (the exact held-out images).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
from pixelcnn import torch_ops as T  # noqa: E402  (the DMOL likelihood)
from pixelcnn.torch_lean import concat_elu  # noqa: E402

MASK = (1 << 64) - 1


# ----------------------------------------------------------- data order

def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def hash64(seed, index):
    return mix64(seed ^ mix64((index + 0x9E3779B97F4A7C15) & MASK))


def shuffle(seed, epoch, n):
    """pcnn_shuffle(seed, epoch, n): Fisher-Yates from the end, j by
    rejection from the counter-based words hash64(hash64(seed, epoch), k)."""
    key, k = hash64(seed, epoch), 0
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        r = i + 1
        t = (1 << 64) % r
        while True:
            x = hash64(key, k)
            k += 1
            if x >= t:
                break
        j = x % r
        perm[i], perm[j] = perm[j], perm[i]
    return np.asarray(perm, dtype=np.int64)


def load_cifar(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32)


def load_train(data_dir):
    parts = [load_cifar(os.path.join(data_dir, "data_batch_%d.bin" % k))
             for k in range(1, 6)
             if os.path.exists(os.path.join(data_dir, "data_batch_%d.bin" % k))]
    if not parts:
        sys.exit("lean_train.py: %s: no data_batch_K.bin" % data_dir)
    return np.concatenate(parts)


def batches(images, batch, seed):
    """The library's batch sequence: epoch e's permutation, batches in
    order, the remainder skipped."""
    n, epoch = len(images), 0
    while True:
        perm = shuffle(seed, epoch, n)
        for pos in range(0, n - batch + 1, batch):
            yield torch.from_numpy(images[perm[pos:pos + batch]])
        epoch += 1


# --------------------------------------------------------------- network

DOWN, DOWN_RIGHT = 0, 1


class ShiftedConv(nn.Conv2d):
    """A causal conv: padded above (and left, for down-right) so output
    (i, j) sees rows <= i."""

    def __init__(self, ci, co, k, kind, stride=1):
        super().__init__(ci, co, k, stride=stride)
        kh, kw = k
        self.pad = ((kw - 1) // 2, (kw - 1) // 2, kh - 1, 0) \
            if kind == DOWN else (kw - 1, 0, kh - 1, 0)

    def forward(self, x):
        return super().forward(F.pad(x, self.pad))


class ShiftedDeconv(nn.ConvTranspose2d):
    def __init__(self, ci, co, k, kind):
        super().__init__(ci, co, k, stride=2, output_padding=1)
        self.left = (k[1] - 1) // 2 if kind == DOWN else 0

    def forward(self, x):
        H, W = x.shape[2], x.shape[3]
        y = super().forward(x)
        return y[:, :, :2 * H, self.left:self.left + 2 * W]


class GatedResnet(nn.Module):
    def __init__(self, f, k, kind, skip):
        super().__init__()
        self.conv_in = ShiftedConv(2 * f, f, k, kind)
        self.skip = nn.Conv2d(skip, f, 1) if skip else None
        self.conv_out = ShiftedConv(2 * f, 2 * f, k, kind)

    def forward(self, x, a=None):
        c = self.conv_in(concat_elu(x))
        if a is not None:
            c = c + self.skip(concat_elu(a))
        a2, b2 = self.conv_out(concat_elu(c)).chunk(2, 1)
        return x + a2 * torch.sigmoid(b2)


class LeanPixelCNN(nn.Module):
    def __init__(self, nr_resnet, nr_filters, nr_mix, scales=3):
        super().__init__()
        f, R, S = nr_filters, nr_resnet, scales
        self.R, self.S, self.M = R, S, nr_mix
        self.init_u = ShiftedConv(4, f, (2, 3), DOWN)
        self.init_ul_down = ShiftedConv(4, f, (1, 3), DOWN)
        self.init_ul_right = ShiftedConv(4, f, (2, 1), DOWN_RIGHT)
        ml = nn.ModuleList
        self.up_u = ml([ml([GatedResnet(f, (2, 3), DOWN, 0)
                            for _ in range(R)]) for _ in range(S)])
        self.up_ul = ml([ml([GatedResnet(f, (2, 2), DOWN_RIGHT, 2 * f)
                             for _ in range(R)]) for _ in range(S)])
        self.u_down = ml([ShiftedConv(f, f, (2, 3), DOWN, 2)
                          for _ in range(S - 1)])
        self.ul_down = ml([ShiftedConv(f, f, (2, 2), DOWN_RIGHT, 2)
                           for _ in range(S - 1)])
        n = [R if s == S - 1 else R + 1 for s in range(S)]
        self.dn_u = ml([ml([GatedResnet(f, (2, 3), DOWN, 2 * f)
                            for _ in range(n[s])]) for s in range(S)])
        self.dn_ul = ml([ml([GatedResnet(f, (2, 2), DOWN_RIGHT, 4 * f)
                             for _ in range(n[s])]) for s in range(S)])
        self.u_up = ml([ShiftedDeconv(f, f, (2, 3), DOWN)
                        for _ in range(S - 1)])
        self.ul_up = ml([ShiftedDeconv(f, f, (2, 2), DOWN_RIGHT)
                         for _ in range(S - 1)])
        self.out = nn.Conv2d(f, 10 * nr_mix, 1)

    def forward(self, xs):
        B, _, H, W = xs.shape
        x = torch.cat([xs, xs.new_ones(B, 1, H, W)], 1)
        u = F.pad(self.init_u(x)[:, :, :-1], (0, 0, 1, 0))
        ul = (F.pad(self.init_ul_down(x)[:, :, :-1], (0, 0, 1, 0)) +
              F.pad(self.init_ul_right(x)[:, :, :, :-1], (1, 0, 0, 0)))
        us, uls = [u], [ul]
        for s in range(self.S):
            for i in range(self.R):
                u = self.up_u[s][i](u)
                ul = self.up_ul[s][i](ul, u)
                us.append(u), uls.append(ul)
            if s < self.S - 1:
                u, ul = self.u_down[s](u), self.ul_down[s](ul)
                us.append(u), uls.append(ul)
        u, ul = us.pop(), uls.pop()
        for s in reversed(range(self.S)):
            for i in range(len(self.dn_u[s])):
                u = self.dn_u[s][i](u, us.pop())
                ul = self.dn_ul[s][i](ul, torch.cat([u, uls.pop()], 1))
            if s > 0:
                u = self.u_up[s - 1](u)
                ul = self.ul_up[s - 1](ul)
        return self.out(F.elu(ul))

    def bpd(self, x, bf16=False):
        """Mean bits/dim of the uint8 batch x (B, 3, H, W); with bf16 the
        network runs under CPU autocast (bf16 convs, fp32 weights) and the
        likelihood in fp32."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            l = self(x.float() / 127.5 - 1.0)
        lp = T.dmol_log_prob(l.float(), x, 3, self.M)
        return -lp.mean() / (3 * math.log(2.0))


def ours_name(n, S):
    """The checkpoint layer (docs/model.md) of the peer's module path n."""
    p = n.split(".")
    if p[0].startswith("init_"):
        return "init." + p[0][5:]
    if p[0] in ("up_u", "up_ul", "dn_u", "dn_ul"):
        side = p[0].split("_")[1]
        return "%s.%s.%s.%s.%s" % ("up" if p[0][:2] == "up" else "down",
                                    p[1], side, p[2], p[3])
    if p[0] in ("u_down", "ul_down"):
        return "up.%s.%s" % (p[1], p[0])
    if p[0] in ("u_up", "ul_up"):
        return "down.%d.%s" % (int(p[1]) + 1, p[0])
    return p[0]


def load_ours(model, path):
    """Sets every weight from a checkpoint of ours: w = g v / ||v|| per
    output channel (a transposed conv's is v's dim 1), and the biases."""
    from pixelcnn import torch_interop
    st = {k: torch.from_numpy(np.asarray(a))
          for k, a in torch_interop.load_state(path)[0].items()}
    with torch.no_grad():
        for name, mod in model.named_modules():
            if not isinstance(mod, nn.Conv2d) and \
                    not isinstance(mod, nn.ConvTranspose2d):
                continue
            o = ours_name(name, model.S)
            v, g = st[o + ".v"].double(), st[o + ".g"].double()
            deconv = isinstance(mod, nn.ConvTranspose2d)
            dims = [d for d in range(v.dim()) if d != (1 if deconv else 0)]
            shape = [1] * v.dim()
            shape[1 if deconv else 0] = -1
            w = v * (g / v.pow(2).sum(dim=dims).sqrt()).view(shape)
            mod.weight.copy_(w.reshape(mod.weight.shape))
            mod.bias.copy_(st[o + ".b"])


# ------------------------------------------------------------- training

def flatten(model):
    """Every parameter (and its gradient) a view into one flat tensor."""
    ps = list(model.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in ps])
    grad = torch.zeros_like(flat)
    off = 0
    for p in ps:
        n = p.numel()
        p.data = flat[off:off + n].view_as(p)
        p.grad = grad[off:off + n].view_as(p)
        off += n
    return flat, grad


def evaluate(model, images, batch=100):
    """Mean bits/dim of the images and its standard error (over images)."""
    model.eval()
    per = []
    with torch.no_grad():
        for k in range(0, len(images), batch):
            x = torch.from_numpy(images[k:k + batch])
            l = model(x.float() / 127.5 - 1.0)
            lp = T.dmol_log_prob(l, x, 3, model.M)
            per.append(-lp.sum(dim=(1, 2, 3)) / (x[0].numel() * math.log(2)))
    model.train()
    per = torch.cat(per).double()
    se = float(per.std() / math.sqrt(len(per))) if len(per) > 1 else 0.0
    return float(per.mean()), se


def train(args):
    torch.manual_seed(args.seed if args.init_seed is None
                      else args.init_seed)
    model = LeanPixelCNN(args.nr_resnet, args.nr_filters, args.nr_mix)
    if args.init_from:
        load_ours(model, args.init_from)
    flat, grad = flatten(model)
    m1, m2 = torch.zeros_like(flat), torch.zeros_like(flat)
    ema = flat.clone()
    images = load_train(args.data)
    data = batches(images, args.batch, args.seed)
    out = open(args.csv, "w", buffering=1) if args.csv else None
    if out:
        out.write("step,bpd,grad_norm,seconds\n")
    b1, b2 = args.beta1, args.beta2
    t0, step = time.monotonic(), 0
    while step < args.steps:
        if args.minutes > 0 and time.monotonic() - t0 >= 60 * args.minutes:
            break
        x = next(data)
        grad.zero_()
        loss = model.bpd(x, args.bf16)
        loss.backward()
        lr = args.lr * args.lr_decay ** step
        c1, c2 = 1 / (1 - b1 ** (step + 1)), 1 / (1 - b2 ** (step + 1))
        with torch.no_grad():
            m1.mul_(b1).add_(grad, alpha=1 - b1)
            m2.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            denom = (m2 * c2).add_(1e-8).sqrt_()
            flat.addcdiv_(m1, denom, value=-lr * c1)
            e = min(args.ema, (1.0 + step) / (10.0 + step))
            ema.mul_(e).add_(flat, alpha=1 - e)
        step += 1
        if out:
            out.write("%d,%.6f,%.6g,%.3f\n" % (step, float(loss),
                                              float(grad.norm()),
                                              time.monotonic() - t0))
    seconds = time.monotonic() - t0
    if out:
        out.close()
    res = {"trainer": "lean-pytorch", "steps": step, "seconds": seconds,
           "config": [args.nr_resnet, args.nr_filters, args.nr_mix],
           "params": flat.numel(), "threads": args.threads,
           "bf16": args.bf16}
    if not args.no_test:
        test = load_cifar(os.path.join(args.data, "test_batch.bin"))
        test = test[:args.test_limit]
        flat.copy_(ema)
        res["test_bpd_ema"], res["test_bpd_se"] = evaluate(model, test)
        res["test_images"] = len(test)
    if args.exact:
        exact = load_cifar(args.exact)[:args.exact_limit]
        flat.copy_(ema)
        res["exact_bpd_ema"], res["exact_bpd_se"] = evaluate(model, exact)
        res["exact_images"] = len(exact)
    print(json.dumps(res), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="CIFAR-10 binary folder")
    ap.add_argument("--steps", type=int, default=10 ** 9)
    ap.add_argument("--minutes", type=float, default=0)
    ap.add_argument("--nr-resnet", type=int, default=1)
    ap.add_argument("--nr-filters", type=int, default=48)
    ap.add_argument("--nr-mix", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-decay", type=float, default=0.999995)
    ap.add_argument("--beta1", type=float, default=0.95)
    ap.add_argument("--beta2", type=float, default=0.9995)
    ap.add_argument("--ema", type=float, default=0.9995)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bf16", action="store_true",
                    help="train under torch.autocast(\"cpu\", bfloat16), "
                         "the peer of --compute bf16; evaluation stays fp32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--csv", help="per-step training bits/dim")
    ap.add_argument("--test-limit", type=int, default=2000)
    ap.add_argument("--no-test", action="store_true")
    ap.add_argument("--exact", metavar="FILE",
                    help="also evaluate on this CIFAR-10 binary file")
    ap.add_argument("--exact-limit", type=int, default=2000)
    ap.add_argument("--init-seed", type=int,
                    help="seed of PyTorch's init (default: --seed, which "
                         "also orders the data)")
    ap.add_argument("--init-from", metavar="CKPT",
                    help="start from the weights of a checkpoint of ours "
                         "(w = g v/||v||) instead of PyTorch's init")
    ap.add_argument("--print-order", type=int, metavar="N",
                    help="print the first N indices of epoch 0 and exit")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.print_order:
        n = len(load_train(args.data))
        print(" ".join(map(str, shuffle(args.seed, 0, n)[:args.print_order])))
        return
    if args.steps < 1 and args.minutes <= 0:
        sys.exit("lean_train.py: give --steps or --minutes")
    train(args)


if __name__ == "__main__":
    main()
