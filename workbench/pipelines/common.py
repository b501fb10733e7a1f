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


def audio_features(frontend: WavFrontend, audios: list, sample_rate: int | None, trace: Trace):
    """Load each audio and compute its features; returns (waveforms, features) as lists and
    records the frontend capture names (one entry per batch item)."""
    staged = [(w, *frontend(w)) for w in (load_audio(a, sample_rate) for a in audios)]
    for name, values in zip(FRONTEND_NAMES, zip(*staged)):
        trace.put(name, list(values))
    return [s[0] for s in staged], [s[2] for s in staged]


def pad_stack(arrays: list[np.ndarray], value=0) -> np.ndarray:
    """[B, longest, ...] with each array at the start of its row and `value` after it."""
    longest = max(len(a) for a in arrays)
    out = np.full((len(arrays), longest) + arrays[0].shape[1:], value, dtype=arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out
