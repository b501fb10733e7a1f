#!/usr/bin/env bash
# Trainings one after another on one GPU, in the background of one call: a curriculum whose later
# steps start from the earlier ones' models (X_INIT=/tmp/runs/EARLIER/model), with no call (and no
# idle machine) between them. CHAIN="NAME:FAMILY[:CORPUS] ...": each step's settings as for
# train_one.sh, its corpus folder (default $CORPUS). Started as
#   CUDA_VISIBLE_DEVICES=0 CHAIN="..." setsid nohup bash scripts/gpu/chain.sh > /tmp/chain.log 2>&1 < /dev/null &
# and followed with watch.sh, which waits while the chain runs; a failed step ends the chain.
set -euo pipefail
source scripts/gpu/env.sh
for step in ${CHAIN:?CHAIN names the trainings, NAME:FAMILY[:CORPUS] ...}; do
    IFS=: read -r name family corpus <<< "$step"
    echo "$(date +%T) $name ($family) on ${corpus:-$CORPUS}"
    CORPUS=${corpus:-$CORPUS} bash scripts/gpu/train_one.sh "$name" "$family" > "/tmp/$name.log" 2>&1
done
echo "$(date +%T) chain done"
