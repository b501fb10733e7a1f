#!/usr/bin/env bash
# Stage 2 (carry DIR, once per middle part): park a part of the MLX-CUDA archive and report the corpus build.
set -euo pipefail
source scripts/gpu/env.sh
cp "$1"/mlxcuda.txz.* /tmp/parked/
tail -2 /tmp/corpus.log
