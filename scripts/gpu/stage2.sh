#!/usr/bin/env bash
set -euo pipefail
source scripts/gpu/env.sh
cat /tmp/mlxcuda.part.aa .whl/mlxcuda.part.ab > /tmp/mlx_cuda_13-0.32.4-py3-none-manylinux_2_35_x86_64.whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/mlx-*.whl /tmp/mlx_cuda_13-*.whl
python3 -c "import mlx.core as mx; print(mx.default_device(), mx.array([1.0, 2.0]).sum())"
while [ ! -f "$CORPUS/test.jsonl" ]; do sleep 5; tail -1 /tmp/corpus.log; done
wc -l "$CORPUS"/*.jsonl
for family in paraformer nano; do
    setsid nohup python3 -m workbench.cli train "$family" --corpus "$CORPUS" --out "$RUNS/$family" \
        --steps "${STEPS:-30000}" --max-minutes "${MINUTES:-15}" --workers 8 > "/tmp/train_$family.log" 2>&1 < /dev/null &
done
while [ "$SECONDS" -lt "${WATCH_SECONDS:-540}" ]; do sleep 30; tail -n1 /tmp/train_paraformer.log; tail -n1 /tmp/train_nano.log; done
