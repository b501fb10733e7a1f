"""How a transcript holds up when a clip is played a little faster or slower: resampled, so its
pitch and formants move with the tempo, as between two speakers (the change `workbench train
--speed-perturb` trains with). Prints one JSON line per model and speed.

    .venv/bin/python scripts/probe_speed.py MODEL [MODEL ...] [--clip sample_audio/unseen_voice_en.flac]
        [--speeds 0.85 0.9 0.95 1.0 1.05 1.1 1.15]

A model that has learnt the words rather than the training voices writes the reference at every
speed near 1; the demos trained on espeak's voices alone did not (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import workbench
from workbench.audio import SAMPLE_RATE, at_speed, load_audio
from workbench.evaluate import error_rate, read_references

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--clip", type=Path, default=ROOT / "sample_audio" / "unseen_voice_en.flac")
    parser.add_argument("--speeds", type=float, nargs="+", default=[0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15])
    args = parser.parse_args()
    refs = {Path(r["file"]).name: r for r in read_references(ROOT / "sample_audio" / "refs.tsv")}
    reference = refs.get(args.clip.name)
    clip = load_audio(args.clip)
    for path in args.models:
        pipeline = workbench.load(path)
        for speed in args.speeds:
            text = pipeline.transcribe(at_speed(clip, speed), sample_rate=SAMPLE_RATE).text
            rate = error_rate(reference["text"], text, reference["language"]) if reference else None
            print(json.dumps({"model": path, "clip": args.clip.name, "speed": speed, "text": text,
                              "error": None if rate is None else round(rate, 3)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
