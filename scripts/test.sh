#!/usr/bin/env bash
# Install the workbench with its test and upstream-reference extras into .venv and run the suite.
# Extra arguments go to pytest (e.g. `scripts/test.sh -k parity`).
set -euo pipefail
cd "$(dirname "$0")/.."

# An optimised BLAS for MLX's CPU matmuls (see workbench/_blas.py); the suite also runs without it.
if [ ! -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q libopenblas0-pthread >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libopenblas0-pthread >/dev/null 2>&1; } \
        || echo "note: could not install libopenblas0-pthread; MLX will use its reference BLAS (slower)"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,reference]"
# Upstream FunASR is the parity oracle. Its declared dependencies pull in far more than the
# model code needs, so it is installed alone; the `reference` extra lists what it imports.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps funasr==1.4.16
exec .venv/bin/python -m pytest "$@"
