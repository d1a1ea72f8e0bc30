#!/bin/sh
# bench/quality_seeds.sh -- the equal-budget table of issue 20: every WHO of
# WHOS trains MINUTES on the same cores, once per seed of SEEDS, one run
# after the other (bench/quality_run.sh); the order of the runs is reversed
# on every other seed so that a slow stretch of a shared machine does not
# land on one trainer only. Finished runs are kept and skipped, so the
# series can be resumed (also across sessions) with the same OUT.
# Prints the table (bench/quality_table.py) at the end.
# Usage: sh bench/quality_seeds.sh BUILD MINUTES THREADS CONFIG OUT "SEEDS" "WHOS"
set -eu
if [ $# -ne 7 ]; then
    echo "usage: sh bench/quality_seeds.sh BUILD MINUTES THREADS CONFIG OUT \"SEEDS\" \"WHOS\"" >&2
    exit 2
fi
build=$1 minutes=$2 threads=$3 config=${4:-1,48,5} out=$5 seeds=$6 whos=$7
mkdir -p "$out"
printf '{"minutes": %s, "threads": %s, "config": "%s", "omp_wait_policy": "%s"}\n' \
    "$minutes" "$threads" "$config" "${OMP_WAIT_POLICY:-default}" \
    > "$out/series.json"
rev=
for w in $whos; do rev="$w $rev"; done
k=0
for s in $seeds; do
    if [ $((k % 2)) -eq 0 ]; then order=$whos; else order=$rev; fi
    for w in $order; do
        sh bench/quality_run.sh "$build" "$minutes" "$threads" "$config" \
            "$out" "$w" "$s"
    done
    k=$((k + 1))
done
/usr/bin/python3 bench/quality_table.py "$out"
