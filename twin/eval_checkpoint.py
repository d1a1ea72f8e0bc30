#!/usr/bin/python3
"""eval_checkpoint.py -- bits/dim of a checkpoint on a data file, by the twin.

    /usr/bin/python3 twin/eval_checkpoint.py CKPT DATA [-n 1000]
        [--batch 100] [--ema] [--labels IDX1] [--threads 2] [--float64]

CKPT is a safetensors checkpoint with the tensor names of docs/model.md and
the config keys in its metadata (as the C library writes it; optimizer and
other tensors are ignored). --ema evaluates the EMA weights "ema.<name>"
instead of the plain ones (an error if any is missing).

DATA is a CIFAR-10 binary file (records of 1 label byte + C*H*W pixel
bytes, planes in channel order: ../shared/data/cifar10/test_batch.bin) or
an IDX image file (magic 0x00000803, (N, H, W) bytes, gray; gzip is fine),
read per the model's channels/height/width. Class-conditional models use
CIFAR's label bytes, or --labels (an IDX1 label file) with IDX images.
Models with a condition map (cond_channels > 0) are not supported here.

Prints the bits/dim over the first N images, -sum log p / (N C H W ln 2),
to 6 decimals on stdout (the number alone); what was evaluated goes to
stderr.
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

import numpy as np

# torch's OpenMP threads spin while they wait (libgomp's default active
# policy): on a machine shared with other jobs that made 2 threads ~30x
# slower here. Passive waiting costs little on an idle machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pixelcnnpp as P  # noqa: E402


def die(msg):
    sys.stderr.write("eval_checkpoint: %s\n" % msg)
    sys.exit(1)


def read_bytes(path):
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:2] == b"\x1f\x8b":
        buf = gzip.decompress(buf)
    return buf


def parse_idx(buf, path):
    """An IDX file of unsigned bytes: (array, dims)."""
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] != 0x08:
        raise ValueError("%s: not an IDX file of unsigned bytes" % path)
    nd = buf[3]
    dims = struct.unpack(">%dI" % nd, buf[4:4 + 4 * nd])
    n = int(np.prod(dims))
    body = buf[4 + 4 * nd:]
    if len(body) < n:
        raise ValueError("%s: truncated (%d of %d bytes)"
                         % (path, len(body), n))
    return np.frombuffer(body[:n], dtype=np.uint8).reshape(dims)


def load_images(path, cfg, n, labels_path=None):
    """(x (N, C, H, W) uint8, labels (N,) int64 or None) for the first n
    images of a CIFAR-10 binary or IDX file."""
    C, H, W = cfg["channels"], cfg["height"], cfg["width"]
    buf = read_bytes(path)
    if len(buf) >= 4 and buf[:3] == b"\x00\x00\x08":
        a = parse_idx(buf, path)
        if a.ndim == 3:
            a = a[:, None]
        if a.ndim != 4 or a.shape[1:] != (C, H, W):
            die("%s holds images of shape %s; the model wants (%d, %d, %d)"
                % (path, a.shape[1:], C, H, W))
        x, labels = a[:n], None
        if labels_path:
            lab = parse_idx(read_bytes(labels_path), labels_path)
            if lab.ndim != 1 or len(lab) < len(x):
                die("%s: not a label file for these images" % labels_path)
            labels = lab[:len(x)].astype(np.int64)
    else:
        rec = 1 + C * H * W
        if len(buf) % rec:
            die("%s: %d bytes is neither an IDX file nor a whole number of "
                "%d-byte CIFAR records (1 label + %dx%dx%d) for this model"
                % (path, len(buf), rec, C, H, W))
        a = np.frombuffer(buf, dtype=np.uint8).reshape(-1, rec)[:n]
        labels = a[:, 0].astype(np.int64)
        x = a[:, 1:].reshape(-1, C, H, W)
    if len(x) < n:
        sys.stderr.write("eval_checkpoint: %s has only %d images\n"
                         % (path, len(x)))
    return np.array(x, copy=True), labels


def evaluate(net, x, labels, batch):
    """Total -log p in nats over x (float64 accumulation)."""
    K = net.cfg["num_classes"]
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch])
            lb = None
            if K:
                lb = torch.from_numpy(labels[i:i + batch])
            total -= net.log_prob(xb, lb).double().sum().item()
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("data", help="CIFAR-10 .bin or IDX images (.gz ok)")
    ap.add_argument("-n", type=int, default=1000,
                    help="evaluate the first N images (default 1000)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--ema", action="store_true",
                    help='use the EMA weights "ema.<name>"')
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
        net, meta, missing = P.load_checkpoint(args.checkpoint, ema=args.ema,
                                               dtype=dtype)
    except (OSError, ValueError, KeyError) as e:
        die(str(e.args[0]) if isinstance(e, KeyError) and e.args
            else str(e))
    if missing:
        sys.stderr.write("eval_checkpoint: metadata lacks %s: using the "
                         "defaults of docs/model.md\n" % ", ".join(missing))
    cfg = net.cfg
    if cfg["cond_channels"]:
        die("the model takes a condition map (cond_channels=%d): not "
            "supported by this script" % cfg["cond_channels"])
    x, labels = load_images(args.data, cfg, args.n, args.labels)
    if cfg["num_classes"]:
        if labels is None:
            die("class-conditional model: give --labels for IDX images")
        if labels.max() >= cfg["num_classes"]:
            die("a label is >= num_classes=%d" % cfg["num_classes"])
    net.eval()
    t0 = time.time()
    nll = evaluate(net, x, labels, args.batch)
    dt = time.time() - t0
    dims = len(x) * cfg["channels"] * cfg["height"] * cfg["width"]
    bpd = nll / (dims * math.log(2.0))
    sys.stderr.write(
        "eval_checkpoint: %s (%s weights, %s) on %d images of %s: "
        "%.6f bits/dim in %.1f s\n" % (
            args.checkpoint, "EMA" if args.ema else "plain",
            ", ".join("%s=%s" % (k, P.config_to_metadata(cfg)[k])
                      for k in P.CONFIG_KEYS), len(x), args.data, bpd, dt))
    print("%.6f" % bpd)


if __name__ == "__main__":
    main()
