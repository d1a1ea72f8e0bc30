#!/usr/bin/python3
"""scales.py -- the initial layer scales of each parameterization and init
(docs/training.md), and how far each run's weights moved.

    /usr/bin/python3 experiments/quality/scales.py --data DIR
        [--runs NAME=RUN_DIR ...] [--config 1,48,5] [--lr 1e-3]

For each variant (--param weightnorm|plain x --init data|uniform) it makes
the step-0 model of `pixelcnn train --seed 1` on the CIFAR-10 training
files of DIR (the library itself through the Python package: the same
init and the same first batch for the data-dependent init) and prints, per
group of layers, the median over layers of:
  fan_in    the inputs of one output channel;
  |w|       the norm of an output channel's effective weight w = g v/|v|;
  g, |v|    (weight norm) the scale and the direction's norm;
  step      the relative change of w one Adam step of size lr in every
            element of the trained tensor makes: lr sqrt(fan_in) / |v| for
            weight norm's direction v, lr sqrt(fan_in) / |w| for plain w;
and, for each NAME=RUN_DIR (a `pixelcnn train` folder of that variant, the
name "param/init"), moved = |w_T - w_0| / |w_0| of its raw weights, and
for weight norm |v_T| / |v_0|.
"""
import argparse
import json
import math
import os
import re
import struct
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "twin"))
import pixelcnn  # noqa: E402
from lean_train import load_train  # noqa: E402

GROUPS = (("init", r"^init\."), ("conv_in", r"\.conv_in$"),
          ("conv_out", r"\.conv_out$"), ("skip (nin)", r"\.skip$"),
          ("down/up", r"_(down|up)$"), ("out (nin)", r"^out$"))


def read_tensors(path):
    """The raw weights of a checkpoint (not its EMA or Adam moments)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__" or k.split(".")[0] in ("ema", "adam"):
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(
            blob[a:b], dtype=np.float32).reshape(v["shape"])
    return out


def layers(t):
    """{layer: (v as (O, rest) with O the output channel, g, fan_in)}."""
    out = {}
    for k in t:
        if not k.endswith(".v"):
            continue
        name = k[:-2]
        v, g = t[k], t[name + ".g"]
        if v.ndim == 4 and v.shape[1] == g.shape[0] and "_up" in name:
            vo = np.transpose(v, (1, 0, 2, 3)).reshape(g.shape[0], -1)
        else:
            vo = v.reshape(g.shape[0], -1)
        out[name] = (vo.astype(np.float64), g.astype(np.float64),
                     v.size // v.shape[0])
    return out


def stats(l0, lr, plain, lT=None):
    rows = []
    for gname, pat in GROUPS:
        names = [n for n in l0 if re.search(pat, n)]
        if not names:
            continue
        r = {k: [] for k in ("fan_in", "w", "g", "v", "step", "moved",
                              "vgrow")}
        for n in names:
            v, g, fan = l0[n]
            vn = np.linalg.norm(v, axis=1)
            w = v * (g / vn)[:, None]
            wn = np.linalg.norm(w, axis=1)
            r["fan_in"].append(fan)
            r["w"].append(np.median(wn))
            r["g"].append(np.median(g))
            r["v"].append(np.median(vn))
            r["step"].append(np.median(lr * math.sqrt(fan) /
                                       (wn if plain else vn)))
            if lT is not None:
                vT, gT, _ = lT[n]
                vTn = np.linalg.norm(vT, axis=1)
                wT = vT * (gT / vTn)[:, None]
                r["moved"].append(np.linalg.norm(wT - w) / np.linalg.norm(w))
                r["vgrow"].append(np.median(vTn / vn))
        rows.append((gname, len(names),
                     {k: (float(np.median(x)) if x else None)
                      for k, x in r.items()},
                     (min(r["fan_in"]), max(r["fan_in"]))))
    return rows


def fmt(x, spec):
    return "-" if x is None else spec % x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--config", default="1,48,5")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--runs", nargs="*", default=[])
    a = ap.parse_args()
    R, F, M = (int(x) for x in a.config.split(","))
    images = load_train(a.data)
    runs = dict(r.split("=", 1) for r in a.runs)
    tmp = tempfile.mkdtemp()
    for param in ("weightnorm", "plain"):
        for init in ("data", "uniform"):
            cfg = dict(nr_resnet=R, nr_filters=F, nr_mix=M, dropout=0.0,
                       plain=int(param == "plain"),
                       init=int(init == "uniform"))
            t = pixelcnn.Trainer(images, config=cfg, options={"seed": 1},
                                 threads=1)
            path = os.path.join(tmp, "%s_%s.safetensors" % (param, init))
            t.save(path)
            t.close()
            l0 = layers(read_tensors(path))
            os.remove(path)
            key = "%s/%s" % (param, init)
            lT = None
            if key in runs:
                lT = layers(read_tensors(os.path.join(
                    runs[key], "checkpoint.safetensors")))
            print("\n%s (--param %s --init %s)%s:" % (
                key, param, init, " and " + runs[key] if lT else ""))
            print("| layers | n | fan_in | \\|w\\| | g | \\|v\\| | step | "
                  "moved | \\|v_T\\|/\\|v_0\\| |")
            print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
            for gname, n, s, fr in stats(l0, a.lr, param == "plain", lT):
                print("| %s | %d | %d-%d | %.3f | %.3f | %.3f | %.4f | %s | "
                      "%s |" % (gname, n, fr[0], fr[1], s["w"], s["g"],
                                s["v"], s["step"], fmt(s["moved"], "%.3f"),
                                fmt(s["vgrow"] if param == "weightnorm"
                                    else None, "%.3f")))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
