#!/bin/sh
# check_spills.sh [BUILD] -- the fp32 convolutions' hot functions keep
# their FMA accumulators in registers. Counts, per function, the stores
# of zmm registers to the stack in the optimized objects and fails when a
# count is above its ceiling.
#
# Why: when the micro-kernel's accumulators became address-taken (commit
# 1db76f7, fixed in 6f167f0), GCC kept them on the stack inside the FMA
# loop, one store per FMA, and the Winograd and implicit-GEMM convs ran at
# less than half their speed with every test still passing (docs/speed.md,
# "A slowdown of the fp32 convs"). With GCC 12 -O3 -march=native (Ice
# Lake) the two functions below had 184 and 158 such stores then, 56 and
# 78 after the fix (54 and 76 with -march=x86-64-v4 and Zen 5's AVX-512
# extensions); the ceilings sit between. A new ceiling needs a look at the loop
# (objdump -d, or perf annotate) first: stores outside the FMA loop are
# harmless.
#
# Skipped, with a line saying so: a build without AVX-512 (no zmm code to
# check), a compiler other than GCC (other names for the OpenMP bodies),
# no objdump.
set -eu
build=${1:-build}
obj=$build/f32/src/cpu

if ! command -v objdump > /dev/null 2>&1; then
    echo "check_spills: skipped, no objdump"
    exit 0
fi
# zmm stores to the stack, per function, of one object
spills() {
    objdump -d --no-show-raw-insn "$1" | awk '
        /^[0-9a-f]+ <.*>:$/ { fn = substr($2, 2, length($2) - 3) }
        /vmov[au]ps[ \t]+%zmm[0-9]+,.*\((%rsp|%rbp)\)/ { n[fn]++ }
        /^[0-9a-f]+ <.*>:$/ { seen[substr($2, 2, length($2) - 3)] = 1 }
        END { for (f in seen) print f, n[f] + 0 }'
}
for o in gemm_avx512 conv_winograd conv_avx512; do
    if [ ! -f "$obj/$o.o" ]; then
        echo "check_spills: $obj/$o.o: no such file (build first)"
        exit 1
    fi
done
if ! objdump -d "$obj/gemm_avx512.o" | grep -q '%zmm'; then
    echo "check_spills: skipped, $obj has no AVX-512 code"
    exit 0
fi
if ! spills "$obj/conv_winograd.o" | grep -q '\._omp_fn\.'; then
    echo "check_spills: skipped, not GCC's OpenMP outlining"
    exit 0
fi

fail=0
# object, function, ceiling
for row in "conv_winograd pcnn_conv_winograd_forward._omp_fn.0 100" \
           "conv_avx512 pcnn_conv_forward_avx512._omp_fn.0 120"; do
    set -- $row
    n=$(spills "$obj/$1.o" | awk -v f="$2" '$1 == f { print $2 }')
    if [ -z "$n" ]; then
        echo "check_spills: $obj/$1.o has no function $2 (renamed? update" \
             "scripts/check_spills.sh)"
        fail=1
    elif [ "$n" -gt "$3" ]; then
        echo "check_spills: $2 stores zmm registers to the stack $n times" \
             "(at most $3): accumulators spilled? see scripts/check_spills.sh"
        fail=1
    else
        echo "check_spills: $2: $n zmm stores to the stack (at most $3)"
    fi
done
exit $fail
