#!/usr/bin/env bash
# Stage 3 (carry .whl): complete and install MLX-CUDA, wait for the corpus, then start one training
# per GPU in its own process session so both outlive this call (`watch.sh` follows them).
# FAMILIES="paraformer nano"; per family X: X_MINUTES, X_STEPS, X_FRAMES, X_LR, X_WARMUP, X_INIT.
set -euo pipefail
source scripts/gpu/env.sh
cat /tmp/mlxcuda.part.aa /tmp/mlxcuda.part.ab .whl/mlxcuda.part.ac > /tmp/mlx_cuda_13-0.32.4-py3-none-manylinux_2_35_x86_64.whl
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/mlx-*.whl /tmp/mlx_cuda_13-*.whl 2>&1 | grep -v "already exists" || true
python3 -c "import mlx.core as mx; print(mx.default_device(), mx.ones(2).sum().item())"
while [ ! -f "$CORPUS/test.jsonl" ]; do sleep 5; done
tail -1 /tmp/corpus.log
gpu=0
for family in ${FAMILIES:-paraformer nano}; do
    CUDA_VISIBLE_DEVICES=$gpu setsid nohup bash scripts/gpu/train_one.sh "$family" > "/tmp/$family.log" 2>&1 < /dev/null &
    gpu=$((gpu + 1))
done
sleep 60
tail -n 3 /tmp/*.log
