#!/bin/sh
# long_functions.sh -- lists the C functions longer than MAX lines.
#   sh scripts/long_functions.sh [MAX [FILE...]]   (default: 80, tools/*.c)
# A function is counted from its signature's first line to its closing
# brace; the style of this code is assumed: a definition starts in column
# 0, its body opens with "{" alone on a line and closes with "}" alone.
# Prints "FILE:LINE NAME LINES" for each one over MAX and exits 1, or a
# line saying there is none.
set -u
max=${1:-80}
[ $# -gt 0 ] && shift
[ $# -eq 0 ] && set -- tools/*.c
awk -v max="$max" '
FNR == 1 { sig = 0; start = 0; files++ }
# the first line of a declaration in column 0
/^[A-Za-z_]/ && !sig { sig = FNR; name = $0 }
/^[A-Za-z_]/ && sig && name !~ /\(/ { name = name " " $0 }
/;[ \t]*$/ && !start { sig = 0 }
/^\{$/ && sig { start = sig }
/^\}/ && start {
    n = FNR - start + 1
    fn = name
    sub(/\(.*/, "", fn)
    sub(/.*[ *]/, "", fn)
    if (n > max) {
        printf "%s:%d %s %d\n", FILENAME, start, fn, n
        long++
    }
    start = 0; sig = 0
}
/^}/ && !start { sig = 0 }
END {
    if (long)
        exit 1
    printf "long_functions: no function over %d lines in %d files\n", max, files
}
' "$@"
