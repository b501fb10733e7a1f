#!/usr/bin/env bash
# Stage 3 (carry .whl): complete and install MLX-CUDA, wait for the corpus, then start one training
# per GPU in its own process session so they outlive this call (`watch.sh` follows them).
set -euo pipefail
source scripts/gpu/env.sh
# The archive is the unpacked wheel recompressed with xz (75 MB where the wheel is 90): one call fewer.
# Parts join in the order of their names (aa, aab, ab, ...), wherever they were parked from.
cp .whl/mlxcuda.txz.* /tmp/parked/
cat /tmp/parked/mlxcuda.txz.* | python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)" | tar xf - -C /tmp/site
# Unzipped, not pip-installed: pip --target skips the mlx/ folder the archive has already made.
python3 -c "import glob, zipfile; zipfile.ZipFile(glob.glob('.whl/mlx-*.whl')[0]).extractall('/tmp/site')"
python3 -c "import mlx.core as mx; print(mx.default_device(), mx.ones(2).sum().item())"
# A model parked by park_init.sh (X_INIT=/tmp/init/NAME); gzip stops on a missing part.
if compgen -G "/tmp/initparts/init.tgz.*" > /dev/null; then
    rm -rf /tmp/init && mkdir -p /tmp/init && cat /tmp/initparts/init.tgz.* | tar xzf - -C /tmp/init
    ls /tmp/init
fi
# A build that never started or died (stage 1 failed, say) would keep this call waiting for its
# whole limit: give up at once instead (the thirteenth session lost 600 s of a lease that way).
while [ ! -f "$CORPUS/test.jsonl" ]; do
    if ! pgrep -f "[w]orkbench.corpus.build" > /dev/null && [ ! -f "$CORPUS/test.jsonl" ]; then
        echo "no corpus build is running and $CORPUS/test.jsonl is missing; /tmp/corpus.log ends:" >&2
        tail -3 /tmp/corpus.log >&2 2>/dev/null || echo "(no /tmp/corpus.log: stage 1 did not start the build)" >&2
        exit 1
    fi
    sleep 5
done
tail -1 /tmp/corpus.log
# JOBS: "NAME:FAMILY:GPU ..." (none: start no training, for a chain.sh started later in the call);
# BENCH_GPU: a GPU left to scripts/gpu/bench.sh (its packages in .benchpkgs).
for job in ${JOBS:-paraformer:paraformer:0 nano:nano:1}; do
    [ "$job" = none ] && continue
    IFS=: read -r name family gpu <<< "$job"
    CUDA_VISIBLE_DEVICES=$gpu setsid nohup bash scripts/gpu/train_one.sh "$name" "$family" > "/tmp/$name.log" 2>&1 < /dev/null &
done
if [ -n "${BENCH_GPU:-}" ]; then
    CUDA_VISIBLE_DEVICES=$BENCH_GPU setsid nohup bash scripts/gpu/bench.sh > /tmp/bench.log 2>&1 < /dev/null &
fi
sleep 60
tail -n 3 /tmp/*.log
