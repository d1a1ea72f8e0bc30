#!/bin/sh
# bench_compress.sh -- the lossless-compression table of docs/compression.md
# and the README: bits/dim of pixelcnn compress files against the model's
# evaluated bits/dim and against PNG (optipng -o7), WebP lossless (cwebp
# -lossless -z 9) and JPEG XL lossless (cjxl -d 0 -e 9), with encode and
# decode times per image: alone (--batch 1: one group per image; the
# per-image file sizes follow from it exactly, each file being the header
# plus its image's streams) and in groups of 32.
#
#   sh scripts/bench_compress.sh [N] [OUT]     (N images per set: 200)
#   SETS="exact jpeg faces fashion" (the default) picks the data sets
#   (faces128: the faces at 128x128 with the shipped 128 stage);
#   FASHION_MODEL=CKPT adds a model's rows to Fashion-MNIST's;
#   COLOR_CHAIN=FILE adds a color chain's rows (a model of L(x) and the
#   colorizer, joined by pixelcnn chain) to the CIFAR sets, and ONLY=color
#   gives those rows alone (no other model, no baselines).
#
# Needs build/pixelcnn, /usr/bin/python3 with numpy, and the Debian
# packages optipng, webp and libjxl-tools (the benchmark only).
set -eu
N=${1:-200}
OUT=${2:-runs/bench-compress}
PX=${PX:-build/pixelcnn}
DATA=../shared/data
THREADS=${THREADS:-1}
for t in optipng cwebp cjxl; do
    command -v $t >/dev/null || { echo "bench_compress: $t missing (apt-get install optipng webp libjxl-tools)" >&2; exit 1; }
done
mkdir -p "$OUT"
TABLE="$OUT/table.md"
echo "| data ($N images) | coder | bits/dim | model's bits/dim | encode s/image | decode s/image |" > "$TABLE"
echo "|---|---|---|---|---|---|" >> "$TABLE"

# bits/dim of the files in folder $1 for images of $2 dims
bpd_of() { find "$1" -type f | xargs stat -c %s | awk -v n="$N" -v d="$2" '{s+=$1} END {printf "%.4f", 8*s/(n*d)}'; }

# the model's figure: the tightened total of a chain when there is one
eval_bpd() {
    $PX eval --checkpoint "$1" --data "$2" --split "$3" --limit "$N" --threads "$THREADS" $4 > "$OUT/eval.txt"
    if grep -q '^tightened bits/dim' "$OUT/eval.txt"; then
        awk '/^tightened bits\/dim/ {print $3}' "$OUT/eval.txt"
    else
        awk '/^bits\/dim/ {print $2}' "$OUT/eval.txt"
    fi
}

# model rows: $1 label, $2 model, $3 data spec, $4 split, $5 dims,
# $6 extra flags (--size); leaves the decoded images in $OUT/png
model_rows() {
    ev=$(eval_bpd "$2" "$3" "$4" "$6")
    for b in 32 1; do
        $PX compress --checkpoint "$2" --data "$3" --split "$4" --limit "$N" $6 \
            --batch $b --threads "$THREADS" -o "$OUT/a.pcnn" > "$OUT/enc.txt"
        rm -rf "$OUT/png"
        $PX decompress --checkpoint "$2" "$OUT/a.pcnn" --threads "$THREADS" -o "$OUT/png" > "$OUT/dec.txt"
        bytes=$(stat -c %s "$OUT/a.pcnn")
        hdr=$(sed -n 's/.*(header \([0-9]*\) bytes.*/\1/p' "$OUT/enc.txt")
        enc=$(sed -n 's/.*, \([0-9.]*\) s per image/\1/p' "$OUT/enc.txt")
        dec=$(sed -n 's/.*, \([0-9.]*\) s per image/\1/p' "$OUT/dec.txt")
        if [ $b = 1 ]; then
            total=$((bytes + (N - 1) * hdr)); what="$1, one file per image"
        else
            total=$bytes; what="$1, one archive (groups of 32)"
        fi
        bpd=$(awk -v s=$total -v n=$N -v d=$5 'BEGIN {printf "%.4f", 8*s/(n*d)}')
        nohdr=$(awk -v s=$bytes -v h=$hdr -v n=$N -v d=$5 'BEGIN {printf "%.4f", 8*(s-h)/(n*d)}')
        echo "| $SET | $what | $bpd ($nohdr without the header) | $ev | $enc | $dec |" >> "$TABLE"
    done
}

# baseline rows on the PNG files in $OUT/png: $1 dims
baseline_rows() {
    rm -rf "$OUT/opt" "$OUT/webp" "$OUT/jxl"
    mkdir -p "$OUT/opt" "$OUT/webp" "$OUT/jxl"
    for f in "$OUT"/png/*.png; do
        b=$(basename "$f" .png)
        optipng -quiet -o7 -out "$OUT/opt/$b.png" "$f"
        cwebp -quiet -lossless -z 9 "$f" -o "$OUT/webp/$b.webp"
        cjxl -q -d 0 -e 9 "$f" "$OUT/jxl/$b.jxl" 2>/dev/null || cjxl -d 0 -e 9 "$f" "$OUT/jxl/$b.jxl" >/dev/null 2>&1
    done
    echo "| $SET | PNG (optipng -o7) | $(bpd_of "$OUT/opt" $1) | | | |" >> "$TABLE"
    echo "| $SET | WebP lossless (cwebp -lossless -z 9) | $(bpd_of "$OUT/webp" $1) | | | |" >> "$TABLE"
    echo "| $SET | JPEG XL lossless (cjxl -d 0 -e 9) | $(bpd_of "$OUT/jxl" $1) | | | |" >> "$TABLE"
}

# a color chain's rows: $1 data spec, as model_rows; its stages 0 and 1
# are evaluated, its stage 2 (the colors given L and the chroma) is a
# fixed coder without a model, so its coded size (of the archive) is
# added to the evaluation
color_rows() {
    model_rows "colorizer chain (L model, colorizer, colors given L)" "$COLOR_CHAIN" "$1" test 3072 ""
    $PX compress --checkpoint "$COLOR_CHAIN" --data "$1" --split test --limit "$N" \
        --batch 32 --threads "$THREADS" -o "$OUT/a.pcnn" > "$OUT/enc.txt"
    s2=$(sed -n 's/.*stage 2: .*(\([0-9.]*\) bits per image dim).*/\1/p' "$OUT/enc.txt")
    echo "| $SET | (colorizer chain: stages 0 + 1 evaluated, $(awk '/^bits\/dim/ {print $2}' "$OUT/eval.txt"); stage 2 coded, $s2) | | | | |" >> "$TABLE"
}

R=results
SETS=${SETS:-exact jpeg faces fashion}
has() { case " $SETS " in *" $1 "*) return 0 ;; esac; return 1; }
EXACT=cifar10:$DATA/cifar10-exact/data_batch_1_first4000.bin
cifar_rows() { # $1 data spec
    if [ -n "${COLOR_CHAIN:-}" ]; then color_rows "$1"; fi
    if [ "${ONLY:-}" = color ]; then return; fi
    model_rows "plain PixelCNN++" $R/cifar10-jpeg-q75/model.safetensors "$1" test 3072 ""
    model_rows "pyramid chain (tightened)" $R/cifar10-pyramid/chain.safetensors "$1" test 3072 ""
    model_rows "gray chain (tightened)" $R/cifar10-gray-chain/chain.safetensors "$1" test 3072 ""
    baseline_rows 3072
}
if has exact; then SET="CIFAR-10 exact (held out)"; cifar_rows $EXACT; fi
if has jpeg; then
    # test_batch.bin of the copy is sorted by class: every (10000/N)th
    # image gives N/10 of each class (every 50th for N = 200)
    STEP=$((10000 / N))
    /usr/bin/python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(b"".join(d[i * 3073:(i + 1) * 3073] for i in range(0, len(d) // 3073, int(sys.argv[3]))))' \
        $DATA/cifar10/test_batch.bin "$OUT/test-every-${STEP}th.bin" $STEP
    SET="CIFAR-10 (JPEG-q75 copy) test, every ${STEP}th"
    cifar_rows cifar10:"$OUT/test-every-${STEP}th.bin"
fi
if has faces; then
    SET="faces (Caltech-101, 64x64, test split)"
    NF=$N
    N=43 # the folder's test split: its last tenth
    model_rows "pyramid chain (tightened)" $R/faces-pyramid/chain.safetensors folder:$DATA/faces/caltech101 test 12288 "--size 64"
    baseline_rows 12288
    N=$NF
fi
if has faces128; then
    # the five-stage chain: the 64x64 chain below the shipped 128 stage
    SET="faces (Caltech-101, 128x128, test split)"
    NF=$N
    N=43
    $PX chain --out "$OUT/faces128.safetensors" --below $R/faces-pyramid/chain.safetensors \
        $R/faces-pyramid/stage128.safetensors > /dev/null
    model_rows "pyramid chain 8 -> 128 (tightened)" "$OUT/faces128.safetensors" folder:$DATA/faces/caltech101 test 49152 "--size 128"
    baseline_rows 49152
    N=$NF
fi
if has fashion; then
    SET="Fashion-MNIST test"
    if [ -n "${FASHION_MODEL:-}" ]; then
        model_rows "plain PixelCNN++" "$FASHION_MODEL" fashion-mnist:$DATA/fashion-mnist test 784 ""
    else
        rm -rf "$OUT/png"
        /usr/bin/python3 scripts/bench_compress_png.py fashion-mnist:$DATA/fashion-mnist test "$N" "$OUT/png"
    fi
    baseline_rows 784
fi
cat "$TABLE"
