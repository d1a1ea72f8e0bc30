#!/usr/bin/env python3
"""Writes the first N images of a data set as PNG files 00000.png, ... into
a folder, for the lossless baselines of scripts/bench_compress.sh.

usage: bench_compress_png.py KIND:PATH SPLIT N OUTDIR
KIND: cifar10 (a .bin file or a folder with test_batch.bin) or
fashion-mnist (a folder of IDX files). Folder data sets are written by
`pixelcnn decompress` instead (the library's resize defines them)."""
import gzip
import os
import struct
import sys
import zlib

import numpy as np


def png(path, img):
    """img: (h, w) or (h, w, 3) uint8, written as an 8-bit PNG."""
    h, w = img.shape[:2]
    color = 2 if img.ndim == 3 else 0
    raw = b"".join(b"\0" + img[i].tobytes() for i in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def load(spec, split, n):
    kind, path = spec.split(":", 1)
    if kind == "cifar10":
        if os.path.isdir(path):
            path = os.path.join(path, "test_batch.bin" if split == "test"
                                else "data_batch_2.bin")
        d = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)[:n]
        return d[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    if kind == "fashion-mnist":
        pre = "t10k" if split == "test" else "train"
        name = os.path.join(path, pre + "-images-idx3-ubyte")
        op = open
        if not os.path.exists(name):
            name, op = name + ".gz", gzip.open
        with op(name, "rb") as f:
            data = f.read()
        _, cnt, h, w = struct.unpack(">IIII", data[:16])
        x = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(cnt, h, w)
        return x[:n]
    sys.exit("bench_compress_png.py: unknown kind " + kind)


def main():
    spec, split, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    os.makedirs(out, exist_ok=True)
    for i, img in enumerate(load(spec, split, n)):
        png(os.path.join(out, "%05d.png" % i), np.ascontiguousarray(img))


if __name__ == "__main__":
    main()
