#!/bin/sh
# check_install_python.sh [BUILD] -- `make install` gives a working Python
# package: installed into a temporary prefix, it is imported from there
# (PYTHONPATH, no PCNN_LIBRARY, outside the source tree), finds the
# installed libpixelcnn.so through the path recorded at install time, and
# trains, saves, loads and samples a tiny model. A DESTDIR install records
# the final path, not the staging one. Skipped without python3-numpy.
set -eu
build=${1:-build}
make=${MAKE:-make}
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c "import numpy" >/dev/null 2>&1; then
    echo "check_install_python: skipped: no $python with numpy" \
         "(apt-get install python3-numpy)"
    exit 0
fi
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
ver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
site=$prefix/lib/python$ver/dist-packages

$make --no-print-directory -s install BUILD="$build" PREFIX="$prefix" \
    > "$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    echo "check_install_python: make install PREFIX=$prefix failed" >&2
    exit 1
}
cd "$tmp"
if ! env -u PCNN_LIBRARY PYTHONPATH="$site" "$python" - "$site" \
    "$prefix/lib/libpixelcnn.so" > "$tmp/run.log" 2>&1 <<'PY'
import os, sys
import numpy as np
import pixelcnn
site, lib = sys.argv[1], sys.argv[2]
assert pixelcnn.__file__.startswith(site + "/"), pixelcnn.__file__
assert pixelcnn.library_path == lib, pixelcnn.library_path
x = np.random.default_rng(0).integers(0, 256, (16, 1, 8, 8), np.uint8)
cfg = dict(nr_resnet=1, nr_filters=8, nr_mix=2, nr_resolutions=2)
pixelcnn.train(x, cfg, steps=2, options=dict(batch=8),
               checkpoint="ck.safetensors").close()
with pixelcnn.Chain("ck.safetensors") as m:
    assert m.sample(2, seed=1).shape == (2, 1, 8, 8)
    assert 0 < m.evaluate(x).bits_per_dim < 16
PY
then
    cat "$tmp/run.log" >&2
    echo "check_install_python: the installed package failed" >&2
    exit 1
fi
# staged: the recorded path is where the library will be, not the stage
$make -C "$root" --no-print-directory -s install BUILD="$build" \
    DESTDIR="$tmp/stage" \
    PREFIX=/usr/local > "$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    echo "check_install_python: make install DESTDIR=... failed" >&2
    exit 1
}
rec=$tmp/stage/usr/local/lib/python$ver/dist-packages/pixelcnn/_installed.py
if ! grep -qx 'LIBRARY = "/usr/local/lib/libpixelcnn.so"' "$rec"; then
    cat "$rec" >&2 || true
    echo "check_install_python: $rec does not record" \
         "/usr/local/lib/libpixelcnn.so" >&2
    exit 1
fi
echo "check_install_python: make install puts the Python package in" \
     "PREFIX/lib/python$ver/dist-packages, where it finds the installed" \
     "library and trains, saves, loads and samples"
