"""How much a transcript depends on where the 10 ms analysis frames fall on a clip: the clip is
transcribed after 0, 10, ..., 150 samples of digital silence (less than one frame shift), each
with and without 0.15 s more before it (the segmenter's pad until the twenty-sixth session,
`segment.TRANSCRIBE_PAD_S` since), and the distinct
transcripts are counted. Prints one JSON line per model.

    .venv/bin/python scripts/probe_frame_offset.py MODEL [MODEL ...] [--clip sample_audio/mixed_1.flac]

A model that hears a clip robustly writes one transcript for all 32 delays. In the 10-minute
recording (tests/test_segment.py) every copy of a clip starts at another offset, so a clip whose
transcript changes here changes from segment to segment there.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

import workbench
from workbench.audio import SAMPLE_RATE, load_audio
from workbench.evaluate import read_references

ROOT = Path(__file__).resolve().parents[1]
DELAYS = range(0, 160, 10)  # samples; the frame shift is 160
PAD = int(0.15 * SAMPLE_RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--clip", type=Path, default=ROOT / "sample_audio" / "mixed_1.flac")
    args = parser.parse_args()
    refs = {Path(r["file"]).name: r["text"] for r in read_references(ROOT / "sample_audio" / "refs.tsv")}
    clip = load_audio(args.clip)
    tail = np.zeros(PAD, np.float32)
    for path in args.models:
        pipeline = workbench.load(path)
        texts = Counter(
            pipeline.transcribe(np.concatenate([np.zeros(delay + pad, np.float32), clip, tail]),
                                sample_rate=SAMPLE_RATE).text
            for delay in DELAYS for pad in (0, PAD))
        reference = refs.get(args.clip.name)
        print(json.dumps({"model": path, "clip": args.clip.name, "delays": 2 * len(DELAYS),
                          "exact": texts.get(reference, 0) if reference else None,
                          "transcripts": texts.most_common()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
