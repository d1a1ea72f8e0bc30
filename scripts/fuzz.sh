#!/bin/sh
# fuzz.sh -- runs the libFuzzer targets of fuzz/ (docs/fuzzing.md).
#   sh scripts/fuzz.sh SECONDS TARGET...    each target for SECONDS seconds
# Extra libFuzzer flags may come in FUZZ_FLAGS. Each run starts from the
# committed seeds fuzz/corpus/TARGET and keeps the inputs it finds in
# build/fuzz/corpus/TARGET (never in the committed corpus); crashes, leaks,
# timeouts and allocations over the limit go to build/fuzz/artifacts/.
# Prints one line per target with libFuzzer's final counts; exits 1 when
# a target found something.
set -u
secs=$1
shift
B=build/fuzz
failed=""
for t in "$@"; do
    dict=""
    case $t in
    safetensors | checkpoint | chain) len=32768 dict=fuzz/safetensors.dict ;;
    cifar) len=12292 ;; # 4 records
    idx | idx_gzip) len=8192 ;;
    image) len=4096 ;;
    flags) len=512 dict=fuzz/flags.dict ;;
    codec) len=1024 ;; # edits of streams coded at start-up, or a stream
    *) echo "fuzz: unknown target $t" >&2; exit 2 ;;
    esac
    mkdir -p "$B/corpus/$t" "$B/artifacts" "$B/logs"
    log="$B/logs/$t.log"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 "$B/fuzz_$t" -max_total_time="$secs" -max_len="$len" \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" \
        ${dict:+-dict=$dict} ${FUZZ_FLAGS:-} \
        "$B/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    if [ $rc -eq 0 ]; then
        printf 'fuzz %-12s ok: %s runs in %ss (%s/s), %s new inputs, corpus %s\n' \
            "$t" "$(stat number_of_executed_units)" "$secs" \
            "$(stat average_exec_per_sec)" "$(stat new_units_added)" \
            "$(ls "$B/corpus/$t" | wc -l)"
    else
        echo "fuzz $t FAILED (exit $rc) after $(stat number_of_executed_units) runs, see $log:"
        grep -E "^==[0-9]+==ERROR|SUMMARY|^(artifact|Test unit written)" "$log" |
            head -5
        failed="$failed $t"
    fi
done
[ -z "$failed" ] || { echo "fuzz: findings in:$failed"; exit 1; }
