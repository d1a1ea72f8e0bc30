#!/bin/sh
# fuzz_seeds.sh -- regenerates the seed files of the committed fuzz
# corpora (fuzz/corpus/TARGET/, docs/fuzzing.md) from the project itself:
# data files drawn by fuzz/seeds.c, tiny models trained for one step on
# them with build/pixelcnn (`make` first), exported and chained, a few
# truncated or edited copies, and argument lists for the flags target.
# Overwrites the files it makes and keeps the rest (the crash-* inputs of
# past findings). A few seconds.
set -eu
P=build/pixelcnn
S=build/fuzz/seeds
C=fuzz/corpus
[ -x $P ] || { echo "fuzz_seeds: build $P first (make)" >&2; exit 1; }
rm -rf $S
mkdir -p $S
${CC:-cc} -std=c11 -O1 -D_POSIX_C_SOURCE=200809L -Ifuzz -o $S/seeds \
    fuzz/seeds.c -lstb -lz
$S/seeds $S/data
for t in image cifar idx idx_gzip; do
    mkdir -p $C/$t
    cp $S/data/$t/* $C/$t/
done

# models: 195 to 300 parameters, 1x4x4 images
tiny="--nr-resnet 1 --nr-filters 1 --nr-mix 1 --nr-resolutions 1 --steps 1
      --batch 2 --no-test --threads 1"
train() { # OUT FLAGS...
    out=$1
    shift
    # shellcheck disable=SC2086
    $P train --data mnist:$S/data/mnist --out $S/$out $tiny "$@" >/dev/null 2>&1
}
train plain
train class --class-conditional
train gray0 --chain gray --stage 0
train gray1 --chain gray --stage 1 --cond-nr-resnet 0 --cond-down 0 \
    --cond-nr-filters 1
$P export --checkpoint $S/plain/checkpoint.safetensors \
    --out $S/export.safetensors >/dev/null
$P chain --out $S/chain.safetensors $S/gray0/checkpoint.safetensors \
    $S/gray1/checkpoint.safetensors >/dev/null

# edit: FILE OLD NEW, same length (the header length stays right)
edit() { LC_ALL=C sed "s/$2/$3/" "$1"; }
mkdir -p $C/checkpoint $C/chain $C/safetensors $C/flags
cp $S/plain/checkpoint.safetensors $C/checkpoint/trainer.safetensors
cp $S/class/checkpoint.safetensors $C/checkpoint/class.safetensors
cp $S/gray1/checkpoint.safetensors $C/checkpoint/cond-stage.safetensors
cp $S/export.safetensors $C/checkpoint/export.safetensors
head -c 3000 $S/export.safetensors >$C/checkpoint/export-truncated
edit $S/export.safetensors '"nr_filters":"1"' '"nr_filters":"2"' \
    >$C/checkpoint/export-wrong-shape
edit $S/plain/checkpoint.safetensors '"step":"1"' '"step":"x"' \
    >$C/checkpoint/trainer-bad-step
cp $S/chain.safetensors $C/chain/chain.safetensors
cp $S/export.safetensors $C/chain/model.safetensors
edit $S/chain.safetensors '"stages":"2"' '"stages":"3"' \
    >$C/chain/chain-3-stages
edit $S/chain.safetensors '"s1.view_gray4":"0"' '"s1.view_gray4":"1"' \
    >$C/chain/chain-misfit
cp $S/export.safetensors $C/safetensors/export.safetensors
cp $S/gray0/checkpoint.safetensors $C/safetensors/categorical.safetensors

# safetensors by hand: every float dtype, a scalar, an empty tensor
st() { # NAME HEADER DATA (printf formats)
    h=$(printf "$2")
    n=${#h}
    printf "$(printf '\\%03o' $((n & 255)) $((n >> 8 & 255)) 0 0 0 0 0 0)" \
        >$C/safetensors/$1
    printf '%s' "$h" >>$C/safetensors/$1
    printf "$3" >>$C/safetensors/$1
}
st dtypes '{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1,1],"data_offsets":[4,6]},"c":{"dtype":"F64","shape":[],"data_offsets":[6,14]},"d":{"dtype":"I64","shape":[0,3],"data_offsets":[14,14]},"e":{"dtype":"U8","shape":[2],"data_offsets":[14,16]}}' \
    '\000\074\377\173\200\077\000\000\000\000\000\000\360\077\001\002'
st meta-only '{"__metadata__":{"k":"v","format":"pixelcnn-chain-1"}}' ''
st empty '{}' ''

# flags: NUL-separated arguments
flags() { printf -- "$2" >$C/flags/$1; }
flags train '--nr-resnet\0005\000--view\000half,half,gray4\000--data\000cifar10:/x\000--lr\0001e-3\000--dropout\0000.5'
flags chain '--chain\000gray-pyramid\000--stage\0007\000--halvings\0006\000--cond-dilate'
flags cond '--cond-view\000ab,half\000--view\000L\000--cond-nr-filters\00016\000--crops\0004\000--crop-min\0000.25'
flags complete '--known\000box:1,1,3,3\000-n\0004\000--split\000train\000--weights\000ema\000--seed\00012'
flags outside '--known\000outside:0,0,2,2\000--image\000in.png\000--index\0003\000--temperature\0000.9'
flags mask '--known\000mask.png\000--data\000mnist:dir\000--count\0002'
flags data 'folder:x\000fashion-mnist:y\000mnist:z\000cifar10:w\000svhn:v\000:'
flags views 'x\000half\000L,half\000ab,half,half\000gray4\000half,gray4,half'
echo "fuzz_seeds: wrote the seeds of $(ls $C | tr '\n' ' ')($(du -sk $C | cut -f1) KB)"
