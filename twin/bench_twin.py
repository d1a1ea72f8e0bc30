#!/usr/bin/python3
"""bench_twin.py -- throughput of the PyTorch twin, for comparison with C.

    /usr/bin/python3 twin/bench_twin.py [--threads 2] [--config R,F,M ...]
        [--sampling] [--sampling-steps 3] [--budget 30]
        [--twin lean|full] [--layout contiguous|channels_last]
        [--exact-dropout]

--twin lean (the default) times python/pixelcnn/torch_lean.py, the fast
peer (weights normalized once per pass, oneDNN convs, Adam's multi-tensor
path, evaluation under torch.inference_mode, torch-RNG dropout masks);
--twin full times torch_net.py, the reference twin the library's tests
use. Both start from the same weights (torch_net's init and data init).

For each config (nr_resnet, nr_filters, nr_mix) -- by default (1,32,5),
(2,64,5), (3,96,10), (5,160,10) -- on 32x32x3 images, 3 resolutions,
batch 16, float32, torch.set_num_threads(--threads):

- train: forward + backward + Adam step, in training mode with dropout
  0.5; the full twin's masks come from torch.rand by default (what a
  PyTorch user runs), or with --exact-dropout from the library's
  counter-based RNG drawn in numpy (slow: a large share of the step); the
  time spent drawing them is reported as dropout_mask_s_per_step, the
  source as config.dropout_mask; the lean twin's from torch_lean.dropout;
- eval: forward + loss under torch.no_grad() (full) or
  torch.inference_mode() (lean), dropout off.

One warm-up step each, then the median of the timed steps: as many as fit
in --budget seconds per config (70% train, 30% eval), at most 10 and at
least 1 (the big config gets 1 train step, a few eval steps). Each config
runs in its own process, so peak_rss_mb (getrusage ru_maxrss) is that
config's own peak. One JSON line per config:

    {"config": {...}, "train_img_s": .., "eval_img_s": .., "peak_rss_mb": ..,
     "train_step_s": .., "eval_step_s": .., "train_iters": .., ...}

--sampling adds, per config, the time of naive sampling: one full forward
pass (batch 16, no grad) per pixel, timed for --sampling-steps pixels and
EXTRAPOLATED to all 32*32 pixels (the JSON says "extrapolated": true).
OMP_WAIT_POLICY is the caller's (see below). The defaults take about
3 minutes on 2 cores (most of it the (5,160,10) training step); timings
on a machine shared with other jobs vary by 2x or more.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

# The OpenMP wait policy is left to the caller, as for `pixelcnn bench`:
# unset, libgomp spins a while before it sleeps, which is what a user
# gets and the faster choice on idle cores; on cores shared with other
# busy jobs spinning is far slower, so set OMP_WAIT_POLICY=PASSIVE there,
# for both sides (docs/speed.md has the measurements).
import torch

# the network and ops live in the package python/pixelcnn/ (one copy)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "python"))
from pixelcnn import torch_net as P  # noqa: E402
from pixelcnn import torch_lean as L  # noqa: E402

CONFIGS = [(1, 32, 5), (2, 64, 5), (3, 96, 10), (5, 160, 10)]
BATCH, SIZE = 16, 32


def make_net(R, F, M, seed=0, twin="lean", layout="contiguous"):
    """The full twin (torch_net) or the lean one (torch_lean, loaded with
    the full twin's weights after its data-dependent init), and a batch."""
    cfg = P.config(channels=3, height=SIZE, width=SIZE, nr_resnet=R,
                   nr_filters=F, nr_mix=M, nr_resolutions=3, dropout=0.5)
    net = P.PixelCNNpp(cfg, dtype=torch.float32)
    net.init_params(seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.integers(0, 256, (BATCH, 3, SIZE, SIZE))
                         .astype(np.uint8))
    net.data_init(x[:4])  # (values only matter to keep activations sane)
    if twin == "lean":
        fmt = torch.channels_last if layout == "channels_last" \
            else torch.contiguous_format
        net = L.LeanPixelCNNpp(cfg, memory_format=fmt).load_params(
            net.state())
    return net, x


def timed(fn, budget, max_iters=10):
    """One warm-up call, then as many timed calls as fit in the budget
    (judged by the warm-up; at least 1, at most max_iters); returns
    (median seconds, iterations)."""
    t0 = time.perf_counter()
    fn()
    warm = time.perf_counter() - t0
    n = int(max(1, min(max_iters, budget // max(warm, 1e-9))))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), n


class MaskTimer:
    """Wraps pixelcnnpp.dropout_keep to add up the time spent drawing the
    counter-based dropout masks (numpy, one thread)."""

    def __init__(self):
        self.seconds, self.calls = 0.0, 0
        self.inner = P.dropout_keep
        P.dropout_keep = self

    def __call__(self, *a):
        t0 = time.perf_counter()
        keep = self.inner(*a)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return keep


def native_keep(shape, p, seed):
    """torch's own RNG for the dropout mask: what a PyTorch user runs. The
    library's counter-based mask drawn in numpy would charge the twin for
    our RNG, not for its network (--exact-dropout keeps it)."""
    return torch.rand(shape) >= p


def bench_config(R, F, M, budget, twin="lean", layout="contiguous",
                 exact_dropout=False):
    if not exact_dropout:
        P.dropout_keep = native_keep
    net, x = make_net(R, F, M, twin=twin, layout=layout)
    lean = twin == "lean"
    masks = None if lean else MaskTimer()
    # the lean twin: Adam's multi-tensor path (one op per kind over every
    # parameter), and evaluation without autograd records
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=lean)
    no_grad = torch.inference_mode if lean else torch.no_grad
    step = [0]

    def train_step():
        net.train()
        if not lean:
            net.dropout_seed = P.default_dropout_seed(step[0])
        step[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = net.bits_per_dim(x)
        loss.backward()
        opt.step()

    def eval_step():
        net.eval()
        with no_grad():
            net.bits_per_dim(x)

    t_train, n_train = timed(train_step, budget * 0.7)
    mask_s = masks.seconds / step[0] if masks else 0.0
    t_eval, n_eval = timed(eval_step, budget * 0.3)
    return {"config": {"nr_resnet": R, "nr_filters": F, "nr_mix": M,
                       "batch": BATCH, "image": [3, SIZE, SIZE],
                       "nr_resolutions": 3, "dropout": 0.5,
                       "threads": torch.get_num_threads(),
                       "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                       "twin": twin, "layout": layout if lean else
                       "contiguous",
                       "dropout_mask": "counter-based (numpy)"
                       if exact_dropout else
                       "torch_lean.dropout (torch.randint)" if lean
                       else "torch.rand",
                       "params": sum(p.numel() for p in net.parameters())},
            "train_img_s": round(BATCH / t_train, 3),
            "eval_img_s": round(BATCH / t_eval, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "train_step_s": round(t_train, 4), "train_iters": n_train,
            "dropout_mask_s_per_step": round(mask_s, 4),
            "eval_step_s": round(t_eval, 4), "eval_iters": n_eval}


def naive_sampling_time(net, steps=3, batch=BATCH, seed=0):
    """Naive ancestral sampling runs one full forward pass per pixel. Times
    `steps` such pixel steps (forward under no_grad, then the head's draw
    for that pixel written into x) after one warm-up step and
    EXTRAPOLATES the median to all H*W pixels."""
    cfg = net.cfg
    H, W = cfg["height"], cfg["width"]
    net.eval()
    gen = torch.Generator().manual_seed(seed)
    x = torch.zeros(batch, cfg["channels"], H, W, dtype=torch.uint8)
    times = []
    with torch.inference_mode():
        for k in range(steps + 1):
            i, j = divmod(k, W)
            t0 = time.perf_counter()
            l = net.forward(x)
            x[:, :, i, j] = P.sample_dmol_pixel(l, cfg, i, j, gen)
            if k:  # the first is the warm-up
                times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    return {"naive_sampling_step_s": round(step, 4),
            "naive_sampling_steps_timed": steps,
            "naive_sampling_total_s": round(step * H * W, 1),
            "naive_sampling_img_s": round(batch / (step * H * W), 5),
            "extrapolated": True,
            "note": "median of %d pixel steps (one full forward pass each, "
                    "batch %d) times %d pixels: extrapolated, not measured"
                    % (steps, batch, H * W)}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(args):
    R, F, M = (int(v) for v in args.one.split(","))
    torch.set_num_threads(args.threads)
    out = bench_config(R, F, M, args.budget, args.twin, args.layout,
                       args.exact_dropout)
    if args.sampling:
        net, _ = make_net(R, F, M, twin=args.twin, layout=args.layout)
        out.update(naive_sampling_time(net, args.sampling_steps))
        out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2,
                    help="torch.set_num_threads (default 2)")
    ap.add_argument("--config", action="append", metavar="R,F,M",
                    help="nr_resnet,nr_filters,nr_mix (repeatable; default "
                    "the four configs above)")
    ap.add_argument("--budget", type=float, default=30.0,
                    help="seconds of timed steps per config (default 30; "
                    "at least 1 timed step each way regardless)")
    ap.add_argument("--sampling", action="store_true",
                    help="also time naive sampling (extrapolated)")
    ap.add_argument("--sampling-steps", type=int, default=3)
    ap.add_argument("--exact-dropout", action="store_true",
                    help="draw dropout masks with the library's counter-based"
                    " RNG in numpy (slow) instead of torch.rand")
    ap.add_argument("--twin", choices=("lean", "full"), default="lean",
                    help="lean: python/pixelcnn/torch_lean.py, the fast "
                    "peer (default); full: torch_net.py, the reference twin")
    ap.add_argument("--layout", choices=("contiguous", "channels_last"),
                    default="contiguous",
                    help="the lean twin's activation memory format")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.exact_dropout and args.twin == "lean":
        ap.error("--exact-dropout needs --twin full (the lean twin draws "
                 "its masks with F.dropout)")
    if args.one:
        return run_one(args)
    configs = args.config or ["%d,%d,%d" % c for c in CONFIGS]
    status = 0
    for c in configs:
        cmd = [sys.executable, os.path.abspath(__file__), "--one", c,
               "--threads", str(args.threads), "--budget", str(args.budget),
               "--sampling-steps", str(args.sampling_steps),
               "--twin", args.twin, "--layout", args.layout]
        if args.sampling:
            cmd.append("--sampling")
        if args.exact_dropout:
            cmd.append("--exact-dropout")
        r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        sys.stdout.write(r.stdout)
        sys.stdout.flush()
        if r.returncode:
            sys.stderr.write("bench_twin: config %s failed (exit %d)\n"
                             % (c, r.returncode))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
