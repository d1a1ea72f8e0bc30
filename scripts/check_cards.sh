#!/bin/sh
# Every shipped model under results/ has a CARD.md next to it whose sha256
# line is the file's sha256: a replaced model without a new card fails.
set -eu
cd "$(dirname "$0")/.."
status=0
for f in results/*/*.safetensors; do
    card="$(dirname "$f")/CARD.md"
    if [ ! -f "$card" ]; then
        echo "check_cards: $f has no $card" >&2
        status=1
        continue
    fi
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    if ! grep -q "$sum" "$card"; then
        echo "check_cards: $card does not give $f's sha256 $sum" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "check_cards: every model under results/ has a card with its sha256"
exit $status
