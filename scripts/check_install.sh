#!/bin/sh
# check_install.sh [BUILD] -- `make install` gives a working library: into
# a temporary prefix, then examples/train_sample.c is compiled with the
# installed header, linked to the installed libpixelcnn.so through
# pkg-config (as a user would), and run. Skipped without pkg-config.
set -eu
build=${1:-build}
cc=${CC:-cc}
make=${MAKE:-make}
if ! command -v pkg-config >/dev/null 2>&1; then
    echo "check_install: skipped: no pkg-config (apt-get install pkg-config)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

$make --no-print-directory -s install BUILD="$build" PREFIX="$prefix" \
    > "$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    echo "check_install: make install PREFIX=$prefix failed" >&2
    exit 1
}
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
$cc -std=c11 -o "$tmp/train_sample" examples/train_sample.c \
    $(pkg-config --cflags --libs pixelcnn)
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! ldd "$tmp/train_sample" | grep -q "$prefix/lib/libpixelcnn.so"; then
    ldd "$tmp/train_sample" >&2
    echo "check_install: the example does not load" \
         "$prefix/lib/libpixelcnn.so" >&2
    exit 1
fi
if ! "$tmp/train_sample" "$tmp/checkpoint.safetensors" > "$tmp/run.log" 2>&1
then
    cat "$tmp/run.log" >&2
    echo "check_install: the example built against the install failed" >&2
    exit 1
fi
echo "check_install: make install PREFIX=... gives a header, a .so and a" \
     "pkg-config file that build and run examples/train_sample.c"
