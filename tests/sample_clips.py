"""Sample clips altered for tests that need a clip on which two decoding options disagree."""

from pathlib import Path

import numpy as np

from workbench.audio import load_audio

SAMPLES = Path(__file__).parent.parent / "sample_audio"


def faster(name: str, factor: float) -> np.ndarray:
    """sample_audio/NAME resampled to play `factor` times as fast (its pitch raised with it), 16 kHz."""
    clip = load_audio(SAMPLES / name)
    return np.interp(np.arange(0, len(clip), factor), np.arange(len(clip)), clip).astype(np.float32)
