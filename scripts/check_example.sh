#!/bin/sh
# check_example.sh [HEADER] [EXAMPLE] -- the example that opens the public
# header is, word for word, the code between the marker comments
# "the header's example: begin" and "...: end" of examples/train_sample.c,
# which `make example` compiles against the shared library and runs. So
# the code the header shows compiles and works as shown.
# In the header the example is the block of lines " *     CODE" (and
# blank " *" lines) that follows the line " * Example".
set -eu
hdr=${1:-include/pixelcnn.h}
ex=${2:-examples/train_sample.c}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

awk '/^ \* Example/ { on = 1; next }
     on && /^ \*     / { for (; blank > 0; blank--) print "";
                         print substr($0, 8); started = 1; next }
     on && /^ \*$/ { if (started) blank++; next }
     on && started { exit }' "$hdr" > "$tmp/header"
awk '/the header.s example: begin/ { on = 1; next }
     /the header.s example: end/ { on = 0 }
     on' "$ex" > "$tmp/example"

if [ ! -s "$tmp/header" ] || [ ! -s "$tmp/example" ]; then
    echo "check_example: no example block found in $hdr or $ex" >&2
    exit 1
fi
if ! diff -u "$tmp/header" "$tmp/example" > "$tmp/diff"; then
    echo "check_example: the example in $hdr differs from $ex" \
         "(- header, + example):" >&2
    tail -n +3 "$tmp/diff" >&2
    exit 1
fi
echo "check_example: the example in $hdr is the code of $ex" \
     "($(wc -l < "$tmp/example") lines)"
