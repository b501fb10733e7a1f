#!/usr/bin/env bash
set -euo pipefail
source scripts/gpu/env.sh
while pgrep -f "workbench.cli train" > /dev/null; do sleep 10; tail -n1 /tmp/train_paraformer.log; done
tail -3 /tmp/train_paraformer.log /tmp/train_nano.log
python3 -m workbench.cli eval "$CORPUS/test.jsonl" --model "$RUNS/paraformer/model" \
    --json "$OUT/eval_paraformer.json" > /tmp/eval_paraformer.log 2>&1 &
python3 -m workbench.cli eval "$CORPUS/test.jsonl" --model "$RUNS/nano/model" --max-new-tokens 96 \
    --json "$OUT/eval_nano.json" > /tmp/eval_nano.log 2>&1 &
wait
tail -n1 /tmp/eval_paraformer.log /tmp/eval_nano.log
for family in paraformer nano; do
    mkdir -p "$OUT/$family"
    (cd "$RUNS/$family/model" && tar cf - . ) | gzip -1 | split -b 15m - "$OUT/$family/model.tgz.part."
done
ls -la "$OUT"/*
