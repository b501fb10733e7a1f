#!/usr/bin/env bash
# Stage 2 (carry .whl3): park the middle third of the MLX-CUDA wheel and report the corpus build.
set -euo pipefail
source scripts/gpu/env.sh
cp .whl3/mlxcuda.part.ab /tmp/
tail -2 /tmp/corpus.log
