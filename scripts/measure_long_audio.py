"""The 10-minute recording of tests/test_segment.py, transcribed segment by segment: per clip, how many
segments came out exactly and the worst error, and the mean error. Prints one JSON line.

    .venv/bin/python scripts/measure_long_audio.py MODEL [--seed N] [--vad fsmn|DIR] [--count-search K]
        [--ctc-rescore W] [--misses]

`--seed` draws the gaps differently (the test uses 0); the bounds in tests/test_segment.py come from
seeds 0, 1 and 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import workbench
from workbench.errors import WorkbenchError
from workbench.evaluate import error_rate, read_references
from workbench.fsmn_vad import FsmnVad
from workbench.long_recording import SAMPLES, long_recording
from workbench.segment import transcribe_long


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vad", help="an FSMN-VAD directory, or `fsmn` for the pip-installed one")
    parser.add_argument("--count-search", type=int, default=0)
    parser.add_argument("--ctc-rescore", type=float, default=0.0)
    parser.add_argument("--misses", action="store_true",
                        help="also print each segment that is not exact, with its reference, to stderr")
    args = parser.parse_args()
    refs = {r["file"].rsplit("/", 1)[-1]: r for r in read_references(SAMPLES / "refs.tsv")}
    audio, names, spans = long_recording(600, seed=args.seed)
    pipeline = workbench.load(args.model)
    options = {**({"count_search": args.count_search} if args.count_search else {}),
               **({"ctc_rescore": args.ctc_rescore} if args.ctc_rescore else {})}
    start = time.perf_counter()
    result = transcribe_long(pipeline, audio, sample_rate=16000, vad=FsmnVad.load(args.vad) if args.vad else None,
                             **options)
    seconds = time.perf_counter() - start
    segments = result.extra["segments"]
    clips, rates = {}, []
    for name, piece in zip(names, segments):
        rate = error_rate(refs[name]["text"], piece["text"], refs[name]["language"])
        rates.append(rate)
        if args.misses and rate:
            print(f"{name} {piece['start']:.1f}s {rate:.3f}\n  ref: {refs[name]['text']}\n  hyp: {piece['text']}",
                  file=sys.stderr)
        clip = clips.setdefault(name, {"exact": 0, "segments": 0, "worst": 0.0})
        clip["exact"] += rate == 0
        clip["segments"] += 1
        clip["worst"] = round(max(clip["worst"], rate), 3)
    print(json.dumps({
        "model": args.model, "seed": args.seed, "vad": args.vad, "count_search": args.count_search,
        "ctc_rescore": args.ctc_rescore,
        "seconds": round(seconds, 1), "clips": len(names), "segments": len(segments),
        "each_clip_in_its_segment": len(segments) == len(names) and all(
            p["start"] <= s + 0.3 and p["end"] >= e - 0.3 for (s, e), p in zip(spans, segments)),
        "mean_error": round(float(np.mean(rates)), 4), "per_clip": clips,
    }, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except WorkbenchError as exc:  # a bad model or VAD argument: one line, as the workbench command prints it
        raise SystemExit(f"error: {exc}") from None
