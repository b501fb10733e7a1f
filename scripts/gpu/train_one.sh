#!/usr/bin/env bash
# Train one family for X_MINUTES (X = PARAFORMER or NANO) and leave the exported model in $RUNS/FAMILY/model.
set -euo pipefail
source scripts/gpu/env.sh
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
family=$1
X=${family^^}
get() { local name="${X}_$1"; echo "${!name:-$2}"; }
init=$(get INIT "")
# A run directory left by a crashed attempt is resumed from its last checkpoint (RESUME=1).
[ "${RESUME:-0}" = 1 ] || rm -rf "$RUNS/$family"
python3 -m workbench.cli train "$family" --corpus "$CORPUS" --out "$RUNS/$family" --steps "$(get STEPS 2000)" \
    --max-minutes "$(get MINUTES 5)" --workers 14 --max-frames "$(get FRAMES 36000)" --warmup "$(get WARMUP 300)" \
    --lr "$(get LR 1e-3)" --ctc-weight "$(get CTC 0)" --checkpoint-every 200 ${init:+--init "$init"}
touch "$RUNS/$family.done"
