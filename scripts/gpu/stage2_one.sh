#!/usr/bin/env bash
# Stage 2 for a single foreground training run: install MLX-CUDA, wait for the corpus, train.
set -euo pipefail
source scripts/gpu/env.sh
cat /tmp/mlxcuda.part.aa .whl/mlxcuda.part.ab > /tmp/mlx_cuda_13-0.32.4-py3-none-manylinux_2_35_x86_64.whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/mlx-*.whl /tmp/mlx_cuda_13-*.whl 2>&1 | grep -v "already exists" || true
while [ ! -f "$CORPUS/test.jsonl" ]; do sleep 5; done
exec bash scripts/gpu/train_one.sh "$1"
