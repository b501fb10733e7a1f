"""Pieces every pipeline shares: stage timing and the audio → features step."""

from __future__ import annotations

import time

import numpy as np

from ..audio import load_audio
from ..frontend import WavFrontend
from ..trace import Trace

FRONTEND_NAMES = ["frontend.waveform", "frontend.fbank", "frontend.features"]


class Stopwatch:
    """Milliseconds per stage; callers sync the device (mx.eval) before `lap` so times are real."""

    def __init__(self):
        self.start = self.clock = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = (now - self.clock) * 1000
        self.clock = now

    def finish(self) -> dict[str, float]:
        self.timings["total"] = (time.perf_counter() - self.start) * 1000
        return self.timings


def audio_features(frontend: WavFrontend, audio, sample_rate: int | None, trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    """Load audio and compute features; returns (waveform, features) and records the frontend names."""
    waveform = load_audio(audio, sample_rate)
    fbank, features = frontend(waveform)
    for name, value in zip(FRONTEND_NAMES, (waveform, fbank, features)):
        trace.put(name, [value])
    return waveform, features
