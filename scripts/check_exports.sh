#!/bin/sh
# check_exports.sh [SO] [HEADER] -- the shared library exports exactly the
# functions that the public header declares: every dynamic symbol that SO
# defines is declared in HEADER, and every function HEADER declares is
# exported. Prints both counts, or the differences and exits 1.
# The declarations are read from the preprocessed header (comments gone),
# keeping only the lines that come from HEADER itself: each identifier
# followed by "(" is a function, except the keywords and attributes.
set -eu
so=${1:-build/libpixelcnn.so}
hdr=${2:-include/pixelcnn.h}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sort -u \
    > "$tmp/exported"
$cc -E -x c "$hdr" |
    awk -v f="\"$hdr\"" '/^# [0-9]+ "/ { keep = ($3 == f); next } keep' |
    tr '\n' ' ' |
    grep -oE '[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(' |
    sed 's/[[:space:]]*($//' |
    grep -vxE '__attribute__|visibility|void|int|char|float|double|sizeof' |
    sort -u > "$tmp/declared"

comm -23 "$tmp/exported" "$tmp/declared" > "$tmp/extra"
comm -13 "$tmp/exported" "$tmp/declared" > "$tmp/missing"
ne=$(wc -l < "$tmp/exported")
nd=$(wc -l < "$tmp/declared")
if [ -s "$tmp/extra" ] || [ -s "$tmp/missing" ]; then
    echo "check_exports: $so exports $ne symbols, $hdr declares $nd functions"
    if [ -s "$tmp/extra" ]; then
        echo "exported but not declared in $hdr (is the library built with"
        echo "-fvisibility=hidden? is an internal function marked PCNN_API?):"
        sed 's/^/  /' "$tmp/extra"
    fi
    if [ -s "$tmp/missing" ]; then
        echo "declared in $hdr but not exported (PCNN_API missing, or no"
        echo "definition):"
        sed 's/^/  /' "$tmp/missing"
    fi
    exit 1
fi
echo "check_exports: $so exports the $ne functions $hdr declares"
