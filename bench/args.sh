# bench/args.sh -- the argument checks of the equal-budget scripts
# (quality.sh, quality_run.sh, chain_budget.sh), sourced after `set -eu`.
# A bad argument stops the script before any training, with a line naming
# the script and the argument, and exit status 2.
#
#   bench_args SCRIPT MINUTES THREADS CONFIG
#       MINUTES a positive number, THREADS a positive integer, CONFIG
#       "R,F,M" of three positive integers; sets R, F and M.

bench_args() {
    if ! awk -v m="$2" 'BEGIN { exit !(m ~ /^([0-9]+[.]?[0-9]*|[.][0-9]+)$/ &&
                                       m + 0 > 0) }'; then
        echo "$1: MINUTES \"$2\": expected a positive number" >&2
        exit 2
    fi
    case $3 in
    '' | *[!0-9]* | 0*)
        echo "$1: THREADS \"$3\": expected a positive integer" >&2
        exit 2
        ;;
    esac
    case $4 in
    [1-9]*,[1-9]*,[1-9]*) ;;
    *) bench_bad_config "$1" "$4" ;;
    esac
    IFS=, read -r R F M <<EOC
$4
EOC
    for v in "$R" "$F" "$M"; do
        case $v in
        '' | *[!0-9]*) bench_bad_config "$1" "$4" ;;
        esac
    done
}

bench_bad_config() {
    echo "$1: CONFIG \"$2\": expected R,F,M (three positive integers)" >&2
    exit 2
}
