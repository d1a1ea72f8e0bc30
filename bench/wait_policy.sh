#!/bin/sh
# bench/wait_policy.sh -- seconds a training step of ours and of the lean
# PyTorch peer under OMP_WAIT_POLICY=PASSIVE and under the OpenMP
# runtime's default, alternating, ROUNDS rounds (docs/speed.md). Each run
# trains (1,48,5) for 60 steps on 2 threads (ours: --param plain --init
# uniform --dropout 0, the peer's recipe) and the figure is the mean over
# steps 20-60.
# Usage: sh bench/wait_policy.sh BUILD [ROUNDS]
# Environment: DATA (default ../shared/data/cifar10).
set -eu
build=${1:?usage: sh bench/wait_policy.sh BUILD [ROUNDS]}
rounds=${2:-2}
data=${DATA:-../shared/data/cifar10}
if [ ! -f "$data/test_batch.bin" ]; then
    echo "bench/wait_policy.sh: $data: no CIFAR-10 binary files (set DATA)" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=1
while [ "$r" -le "$rounds" ]; do
    for pol in passive default; do
        if [ $pol = passive ]; then
            export OMP_WAIT_POLICY=PASSIVE
        else
            unset OMP_WAIT_POLICY
        fi
        rm -rf "$tmp/ours"
        "$build/pixelcnn" train --data "cifar10:$data" --nr-resnet 1 \
            --nr-filters 48 --nr-mix 5 --dropout 0 --seed 1 --steps 60 \
            --threads 2 --log-every 1 --save-every 1000000 --no-test \
            --out "$tmp/ours" --param plain --init uniform > /dev/null
        /usr/bin/python3 twin/lean_train.py --data "$data" --nr-resnet 1 \
            --nr-filters 48 --nr-mix 5 --seed 1 --steps 60 --threads 2 \
            --no-test --csv "$tmp/peer.csv" > /dev/null
        /usr/bin/python3 - "$tmp" "$pol" "$r" <<'EOPY'
import csv, json, sys
tmp, pol, r = sys.argv[1:]
ours = [json.loads(l) for l in open(tmp + "/ours/metrics.jsonl")
        if l.startswith('{"step')]
peer = list(csv.reader(open(tmp + "/peer.csv")))[1:]
o = (ours[59]["time_s"] - ours[19]["time_s"]) / 40
p = (float(peer[59][3]) - float(peer[19][3])) / 40
print("round %s %-7s ours %.4f s/step  peer %.4f s/step" % (r, pol, o, p))
EOPY
    done
    r=$((r + 1))
done
