"""What the two tone probes (`probe_surname_tone.py`, `probe_tone_drill.py`) share: their command
line, Mandarin spoken as the sample clips are, and how they report an error."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from workbench.corpus.synth import PITCH_RANGES, Espeak, Voice, pick_voice, synthesize, zh_training_voices
from workbench.errors import WorkbenchError


def arguments(doc: str, count: str, default: int, what: str) -> argparse.Namespace:
    """MODEL [MODEL ...] --COUNT N [--range R] [--voices V,V]; N (as `args.count`) is how many `what`
    to speak, `args.voices` the pool of training voices that speak them (None: all, as the corpus
    draws them)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument(f"--{count}", dest="count", type=int, default=default)
    parser.add_argument("--range", choices=PITCH_RANGES, help="speak them in this SSML pitch range")
    parser.add_argument("--voices", metavar="V,V", type=lambda value: value.split(","),
                        help="only these Mandarin training voices speak them (cmn+m3,cmn+f2); default: all")
    args = parser.parse_args()
    if args.count < 1:
        parser.error(f"--{count} is how many {what} to speak, at least 1, not {args.count}")
    if args.voices is not None:
        try:
            args.voices = zh_training_voices(args.voices, "--voices")
        except ValueError as exc:
            parser.error(str(exc))
    return args


def spoken(text: str, index: int, espeak: Espeak, pitch_range: str | None,
           voices: tuple[Voice, ...] | None = None) -> np.ndarray:
    """`text` in the `index`-th training voice (of `voices`, if given) at its seeded rate and pitch,
    without augmentation."""
    voice = pick_voice("zh", index, among=voices)
    return synthesize(text, "zh", index, espeak, voice=voice, augment=False, pitch_range=pitch_range).audio


def run(main: Callable[[], None]) -> None:
    try:
        main()
    except WorkbenchError as exc:  # a bad model directory, or no espeak-ng: one line, as the workbench prints it
        raise SystemExit(f"error: {exc}") from None
