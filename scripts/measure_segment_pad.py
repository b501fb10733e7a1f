"""How much silence to keep around each segment of a long recording, measured on held-out speech
rather than the sample clips: test-split utterances strung together with 0.8-2 s of digital
silence between them (as `workbench/long_recording.py` strings the sample clips), cut and
transcribed by `transcribe_long` with each pad in turn. Prints one JSON line per pad.

    .venv/bin/python scripts/measure_segment_pad.py MODEL T/test.jsonl [--utterances 300] [--pads 0.15,0.25]

`T` is a corpus test split (`python -m workbench.corpus.build T --zh 0 --en 0 --test-zh 600
--test-en 600 --seed 0`, the model cards' `T`). `segment.TRANSCRIBE_PAD_S` was chosen with it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import workbench
from workbench.audio import SAMPLE_RATE, load_audio
from workbench.evaluate import edit_distance, units
from workbench.segment import transcribe_long


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--utterances", type=int, default=300)
    parser.add_argument("--pads", default="0.15,0.2,0.25,0.3,0.35")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.manifest.read_text().splitlines()]
    rng = np.random.default_rng(args.seed)
    picked = [rows[i] for i in rng.choice(len(rows), min(args.utterances, len(rows)), replace=False)]
    pieces = []
    for row in picked:
        gap = np.zeros(int(rng.uniform(0.8, 2.0) * SAMPLE_RATE), np.float32)
        pieces += [load_audio(args.manifest.parent / row["audio"]), gap]
    audio = np.concatenate(pieces)
    pipeline = workbench.load(args.model)
    for pad in (float(p) for p in args.pads.split(",")):
        segments = transcribe_long(pipeline, audio, sample_rate=SAMPLE_RATE, pad_s=pad).extra["segments"]
        line = {"model": args.model, "pad_s": pad, "utterances": len(picked), "segments": len(segments)}
        if len(segments) == len(picked):  # one segment per utterance: score each against its reference
            errors = {"zh": [0, 0], "en": [0, 0]}
            exact = 0
            for row, piece in zip(picked, segments):
                ref, hyp = units(row["text"], row["language"]), units(piece["text"], row["language"])
                distance = edit_distance(ref, hyp)
                errors[row["language"]][0] += distance
                errors[row["language"]][1] += len(ref)
                exact += distance == 0
            line.update({f"{'CER' if lang == 'zh' else 'WER'} ({lang})": round(e / max(n, 1), 4)
                         for lang, (e, n) in errors.items()}, exact=exact)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
