#!/bin/sh
# mpi_scaling.sh -- data-parallel training, 1 process vs 2 ranks of 1
# thread each (docs/mpi.md): per config, the median images/s over the
# steps after the first, the efficiency (2-rank rate over twice the
# 1-process rate), and the all-reduce MB and ms per step (each rank's
# buffer; the time includes waiting for the slower rank). As a control of
# what the machine gives two processes at once, two independent 1-process
# runs side by side: "pair img/s" is the sum of their rates, and "vs
# pair" the 2-rank rate over it (the cost of MPI itself, apart from the
# cores' contention).
#   sh bench/mpi_scaling.sh BUILD DATA [CONFIG:STEPS ...]
# BUILD holds pixelcnn and mpi/pixelcnn (make MPI=1); DATA is a --data
# spec (cifar10:DIR). Default configs: the bench's four.
set -eu
build=$1 data=$2
shift 2
[ $# -gt 0 ] || set -- 1,32,5:20 2,64,5:10 3,96,10:5 5,160,10:3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
# the median of a metrics field over the lines after the first step
med() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"bpd"' in l]
v = [r[sys.argv[2]] for r in rows if r["step"] > 1 and sys.argv[2] in r]
print("%.4g" % statistics.median(v) if v else "-")
PY
}
printf '%-10s %8s %8s %6s %10s %8s %9s %8s %9s\n' config "1 img/s" \
    "2 img/s" eff "pair img/s" "vs pair" "MB/step" "ms/step" params
for cs in "$@"; do
    cfg=${cs%%:*} steps=${cs##*:}
    r=${cfg%%,*} rest=${cfg#*,}
    f=${rest%%,*} m=${rest#*,}
    flags="--data $data --limit 2048 --batch 16 --threads 1 --nr-resnet $r
           --nr-filters $f --nr-mix $m --steps $steps --log-every 1
           --save-every 100000 --no-test"
    # shellcheck disable=SC2086
    "$build/pixelcnn" train $flags --out "$out/one" 2>"$out/one.log" >&2
    # shellcheck disable=SC2086
    mpirun --oversubscribe -np 2 "$build/mpi/pixelcnn" train $flags \
        --out "$out/two" 2>"$out/two.log" >&2
    # shellcheck disable=SC2086
    "$build/pixelcnn" train $flags --out "$out/pa" 2>"$out/pa.log" >&2 &
    # shellcheck disable=SC2086
    "$build/pixelcnn" train $flags --out "$out/pb" 2>"$out/pb.log" >&2
    wait
    one=$(med "$out/one/metrics.jsonl" img_s)
    two=$(med "$out/two/metrics.jsonl" img_s)
    mb=$(med "$out/two/metrics.jsonl" allreduce_mb)
    ms=$(med "$out/two/metrics.jsonl" allreduce_ms)
    params=$(sed -n 's/.*), \([0-9]*\) parameters.*/\1/p' "$out/one.log")
    pair=$(/usr/bin/python3 -c "print('%.4g' % ($(med "$out/pa/metrics.jsonl" \
        img_s) + $(med "$out/pb/metrics.jsonl" img_s)))")
    eff=$(/usr/bin/python3 -c "print('%.2f' % ($two / (2 * $one)))")
    vs=$(/usr/bin/python3 -c "print('%.2f' % ($two / $pair))")
    printf '%-10s %8s %8s %6s %10s %8s %9s %8s %9s\n' "$cfg" "$one" \
        "$two" "$eff" "$pair" "$vs" "$mb" "$ms" "$params"
    rm -rf "$out/one" "$out/two" "$out/pa" "$out/pb"
done
rm -rf "$out"
