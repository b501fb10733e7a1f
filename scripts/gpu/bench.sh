#!/usr/bin/env bash
# GPU benchmarks against upstream FunASR (PyTorch, same GPU, same process run), one after another on
# the GPU this script is given. Carried in .benchpkgs: funasr 1.4.16 and the light packages it imports
# that the machine lacks, and the Qwen3 tokenizer cache. Results: /tmp/bench/results.jsonl.
set -uo pipefail
source scripts/gpu/env.sh
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/benchsite .benchpkgs/*.whl
export PYTHONPATH=$PYTHONPATH:/tmp/benchsite WORKBENCH_CACHE=/tmp/wbcache
mkdir -p /tmp/bench "$WORKBENCH_CACHE" && tar xzf .benchpkgs/qwen3-tokenizer.tgz -C "$WORKBENCH_CACHE"
nvidia-smi --query-gpu=name,memory.used --format=csv
run() {
    echo "== $*"
    python3 -m workbench.cli bench "$@" --vs upstream --upstream-device cuda | tee -a /tmp/bench/results.jsonl
}
run paraformer --size large --seconds 10 --batch 1 --repeat 20 --warmup 5
run nano --size full --seconds 10 --new-tokens 64 --repeat 5 --warmup 2 --levels bf16 --upstream-llm-dtype bf16
run nano --size full --seconds 10 --new-tokens 64 --repeat 5 --warmup 2 \
    --levels encoder=bf16,adaptor=bf16,llm=4bit,embeddings=bf16 --upstream-llm-dtype bf16
run paraformer --size large --seconds 10 --batch 32 --repeat 5 --warmup 2
run paraformer --size large --seconds 10 --batch 1 --repeat 20 --warmup 5 --levels bf16
run nano --size full --seconds 10 --new-tokens 64 --repeat 5 --warmup 2 --upstream-llm-dtype fp32
echo bench-done
