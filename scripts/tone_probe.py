"""What the two tone probes (`probe_surname_tone.py`, `probe_tone_drill.py`) share: their command
line, Mandarin spoken as the sample clips are, and how they report an error."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from workbench.corpus.synth import PITCH_RANGES, Espeak, pick_voice, synthesize
from workbench.errors import WorkbenchError


def arguments(doc: str, count: str, default: int, what: str) -> argparse.Namespace:
    """MODEL [MODEL ...] --COUNT N [--range R]; N (as `args.count`) is how many `what` to speak."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument(f"--{count}", dest="count", type=int, default=default)
    parser.add_argument("--range", choices=PITCH_RANGES, help="speak them in this SSML pitch range")
    args = parser.parse_args()
    if args.count < 1:
        parser.error(f"--{count} is how many {what} to speak, at least 1, not {args.count}")
    return args


def spoken(text: str, index: int, espeak: Espeak, pitch_range: str | None) -> np.ndarray:
    """`text` in the `index`-th training voice at its seeded rate and pitch, without augmentation."""
    return synthesize(text, "zh", index, espeak, voice=pick_voice("zh", index), augment=False,
                      pitch_range=pitch_range).audio


def run(main: Callable[[], None]) -> None:
    try:
        main()
    except WorkbenchError as exc:  # a bad model directory, or no espeak-ng: one line, as the workbench prints it
        raise SystemExit(f"error: {exc}") from None
