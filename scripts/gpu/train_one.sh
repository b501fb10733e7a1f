#!/usr/bin/env bash
# Train one run NAME of FAMILY (paraformer|nano) and leave the exported model in $RUNS/NAME/model.
# Settings come from variables prefixed by the run's name in capitals (NAME=nano_b → NANO_B_LR ...):
# X_MINUTES X_STEPS X_FRAMES X_LR X_WARMUP X_INIT X_CTC X_SR (Paraformer's sampling ratio)
# X_QW (Paraformer's quantity-loss weight) X_EP (Paraformer: English pieces of a new vocabulary)
# X_ALIGN (Paraformer's word-start loss weight; needs a corpus built with word timings)
# X_EU (Paraformer: English units of a new vocabulary, bpe or syllables)
# X_FL (the fbank's analysis window in ms; default the init's, else 25) X_PITCH (1: add pitch features)
# X_CACHE (GB of MLX's buffer cache: two trainings on one GPU need it, or the second runs out of memory)
# X_ONLY (--train-only: the parts to update, e.g. "ctc" for a CTC head on a frozen model)
# X_SPEED (--speed-perturb: the speeds an utterance may be heard at, e.g. "0.9 1.0 1.1")
# X_ENC (nano --encoder-init: a Paraformer whose encoder replaces X_INIT's, e.g. workbench/bundled/paraformer-demo).
set -euo pipefail
source scripts/gpu/env.sh
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
name=$1
family=$2
X=${name^^}
get() { local var="${X}_$1"; echo "${!var:-$2}"; }
init=$(get INIT "")
sr=$(get SR "")
qw=$(get QW "")
ep=$(get EP "")
align=$(get ALIGN "")
eu=$(get EU "")
fl=$(get FL "")
pitch=$(get PITCH "")
cache=$(get CACHE "")
only=$(get ONLY "")
speed=$(get SPEED "")
enc=$(get ENC "")
# A run directory left by a crashed attempt is resumed from its last checkpoint (RESUME=1).
[ "${RESUME:-0}" = 1 ] || rm -rf "${RUNS:?}/$name"
python3 -m workbench.cli train "$family" --corpus "$CORPUS" --out "$RUNS/$name" --steps "$(get STEPS 2000)" \
    --max-minutes "$(get MINUTES 5)" --workers "${WORKERS:-14}" --max-frames "$(get FRAMES 36000)" \
    --warmup "$(get WARMUP 300)" --lr "$(get LR 1e-3)" --ctc-weight "$(get CTC 0)" --checkpoint-every 200 \
    ${init:+--init "$init"} ${sr:+--sampling-ratio "$sr"} ${qw:+--quantity-weight "$qw"} ${ep:+--english-pieces "$ep"} \
    ${align:+--align-weight "$align"} ${eu:+--english-units "$eu"} ${fl:+--frame-length "$fl"} \
    ${pitch:+--pitch} ${cache:+--cache-limit-gb "$cache"} ${only:+--train-only $only} \
    ${speed:+--speed-perturb $speed} ${enc:+--encoder-init "$enc"}
touch "$RUNS/$name.done"
