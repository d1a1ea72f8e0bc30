#!/usr/bin/python3
"""eval_checkpoint.py -- bits/dim of a checkpoint on a data file, by the twin.

    /usr/bin/python3 twin/eval_checkpoint.py CKPT DATA [-n 1000]
        [--batch 100] [--ema] [--stage K] [--labels IDX1] [--threads 2]
        [--float64]

CKPT is a file of the library (docs/checkpoint.md): a training
checkpoint, a weights-only export, or (with --stage K) a stage of a chain
file, loaded by pixelcnn.torch_interop.load_module. --ema evaluates the
EMA weights "ema.<name>" instead of the plain ones (an error if the file
has none); note that `pixelcnn eval` uses them by default.

DATA is a CIFAR-10 binary file (records of 1 label byte + 3x32x32 pixel
bytes: ../shared/data/cifar10/test_batch.bin) or an IDX image file
(magic 0x00000803, (N, H, W) bytes, gray; gzip is fine), at the full
size of the stage's images. Class-conditional models use CIFAR's label
bytes, or --labels (an IDX1 label file) with IDX images. A stage of a
chain reads its view of the images and its condition map from them, as
`pixelcnn eval` does (not for Lab views).

Prints the bits/dim over the first N images, -sum log2 p / (N C H W) per
dim of the model's own input, to 6 decimals on stdout (the number alone);
what was evaluated goes to stderr.
"""
import argparse
import os
import sys
import time

# torch's OpenMP threads spin while they wait (libgomp's default active
# policy): on a machine shared with other jobs that made 2 threads ~30x
# slower here. Passive waiting costs little on an idle machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

# the network and ops live in the package python/pixelcnn/ (one copy)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "python"))
from pixelcnn import torch_interop as I  # noqa: E402
from pixelcnn import torch_net as P  # noqa: E402


def die(msg):
    sys.stderr.write("eval_checkpoint: %s\n" % msg)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("data", help="CIFAR-10 .bin or IDX images (.gz ok)")
    ap.add_argument("-n", type=int, default=1000,
                    help="evaluate the first N images (default 1000)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--ema", action="store_true",
                    help='use the EMA weights "ema.<name>"')
    ap.add_argument("--stage", type=int, default=None,
                    help="stage K of a chain file")
    ap.add_argument("--labels", help="IDX1 labels for IDX images "
                    "(class-conditional models)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--float64", action="store_true",
                    help="evaluate in float64 (default float32)")
    args = ap.parse_args()
    if args.n < 1 or args.batch < 1:
        die("-n and --batch must be >= 1")
    torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.float64 else torch.float32
    try:
        net, cfg = I.load_module(args.checkpoint, ema=args.ema,
                                 stage=args.stage, dtype=dtype)
        x, labels = I.load_images(args.data, args.n, args.labels)
        inputs = I.stage_inputs(cfg, x, labels)
    except (OSError, ValueError, NotImplementedError) as e:
        die(str(e))
    if len(x) < args.n:
        sys.stderr.write("eval_checkpoint: %s has only %d images\n"
                         % (args.data, len(x)))
    if cfg["num_classes"] and labels.max() >= cfg["num_classes"]:
        die("a label is >= num_classes=%d" % cfg["num_classes"])
    t0 = time.time()
    bpd = I.bits_per_dim(net, batch=args.batch, **inputs)
    dt = time.time() - t0
    meta = P.config_to_metadata(cfg)
    sys.stderr.write(
        "eval_checkpoint: %s (%s weights, %s) on %d images of %s: "
        "%.6f bits/dim in %.1f s\n" % (
            args.checkpoint, "EMA" if args.ema else "plain",
            ", ".join("%s=%s" % kv for kv in meta.items()), len(x),
            args.data, bpd, dt))
    print("%.6f" % bpd)


if __name__ == "__main__":
    main()
