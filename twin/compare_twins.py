#!/usr/bin/python3
"""compare_twins.py -- the reference twin (torch_net) against the lean one
(torch_lean, NCHW and channels_last) on the same weights, alternating in
one process.

    /usr/bin/python3 twin/compare_twins.py [--threads 1] [--config 1,32,5]
        [--clock cpu|wall] [--rounds 3]

Builds the three variants of bench_twin.make_net, one warm-up training
step and evaluation pass each, then --rounds rounds of (train, eval) per
variant in turn, and prints per variant and mode the fastest and the
median seconds per step and 16 / fastest. --clock cpu times with
time.process_time() (CPU seconds of the process, all threads): on a
machine shared with other jobs it moves much less than wall time, which
is --clock wall.
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_twin as BT  # noqa: E402

VARIANTS = [("reference", "full", "contiguous"), ("lean", "lean", "contiguous"),
            ("lean channels_last", "lean", "channels_last")]


def steps(R, F, M, twin, layout):
    """(train, eval) callables of one variant, each warmed up once."""
    net, x = BT.make_net(R, F, M, twin=twin, layout=layout)
    lean = twin == "lean"
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=lean)
    no_grad = torch.inference_mode if lean else torch.no_grad

    def train():
        net.train()
        opt.zero_grad(set_to_none=True)
        net.bits_per_dim(x).backward()
        opt.step()

    def evaluate():
        net.eval()
        with no_grad():
            net.bits_per_dim(x)

    train()
    evaluate()
    return train, evaluate


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--config", default="1,32,5", metavar="R,F,M")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    BT.P.dropout_keep = BT.native_keep
    R, F, M = (int(v) for v in args.config.split(","))
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    fns = [(name, steps(R, F, M, twin, layout))
           for name, twin, layout in VARIANTS]
    times = {}
    for _ in range(args.rounds):
        for name, (train, evaluate) in fns:
            for mode, fn in (("train", train), ("eval", evaluate)):
                t0 = clock()
                fn()
                times.setdefault((name, mode), []).append(clock() - t0)
    print("config %s, %d threads, %s clock, %d rounds"
          % (args.config, args.threads, args.clock, args.rounds))
    for (name, mode), t in times.items():
        print("%-18s %-5s fastest %.3f s, median %.3f s -> %.1f img/s"
              % (name, mode, min(t), statistics.median(t),
                 BT.BATCH / min(t)))


if __name__ == "__main__":
    main()
