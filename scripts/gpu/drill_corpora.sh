#!/usr/bin/env bash
# The two drill-only corpora of the male-voice tone curriculum (README, "Planned next run"), made
# beside $CORPUS once stage3_start.sh has waited for it:
# - /tmp/drills: $CORPUS's tone drills alone (its train.jsonl's drill rows, its audio linked, its
#   test split), spoken as the sample clips are;
# - /tmp/wide: as many other drills, spoken by the same FOCUS_VOICES in SSML's x-high pitch range,
#   whose wider contours the demos learn from where the default ones stall (the twenty-third run).
set -euo pipefail
source scripts/gpu/env.sh
mkdir -p /tmp/drills
ln -sfn "$CORPUS/audio" /tmp/drills/audio
grep '"zh-train-tone-drill' "$CORPUS/train.jsonl" > /tmp/drills/train.jsonl
cp "$CORPUS/test.jsonl" /tmp/drills/
n=$(wc -l < /tmp/drills/train.jsonl)
echo "/tmp/drills: $n drills"
[ "${WIDE:-1}" = 0 ] && exit 0  # WIDE=0: the default-range drills alone
# The package copy stage1.sh made: every call replaces the working tree.
(cd /tmp/corpus_src && PYTHONPATH=/tmp/site python3 -m workbench.corpus.build /tmp/wide --test-zh 200 --seed 0 \
    --workers "$(nproc)" --focus "tone-drill=$n" --focus-voices "${FOCUS_VOICES:?the voices of the drills}" \
    --zh-pitch-range x-high > /tmp/wide.log 2>&1) || { tail -3 /tmp/wide.log >&2; exit 1; }
tail -1 /tmp/wide.log | cut -c1-200
