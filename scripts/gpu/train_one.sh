#!/usr/bin/env bash
# Train one family in the foreground for MINUTES and send the exported model back in 15 MB parts.
set -euo pipefail
source scripts/gpu/env.sh
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
family=$1
pkill -f "python3 -m [w]orkbench.cli train" || true
rm -rf "$RUNS/$family"
python3 -m workbench.cli train "$family" --corpus "$CORPUS" --out "$RUNS/$family" --steps "${STEPS:-40000}" \
    --max-minutes "${MINUTES:-5}" --workers 14 --max-frames "${FRAMES:-12000}" --warmup "${WARMUP:-1000}" \
    --lr "${LR:-1e-3}" ${INIT:+--init "$INIT"} 2>&1 | awk 'NR % 4 == 1' | cut -c1-260
mkdir -p "$OUT/$family"
(cd "$RUNS/$family/model" && tar cf - .) | gzip -1 | split -b 15m - "$OUT/$family/model.tgz.part."
ls -la "$OUT/$family"
