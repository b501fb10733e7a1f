"""Pieces every pipeline shares: stage timing, the audio → features step, and what makes a
loaded pipeline safe to call from any thread."""

from __future__ import annotations

import functools
import threading
import time

import mlx.core as mx
import numpy as np

from ..audio import load_audio
from ..frontend import WavFrontend
from ..trace import Trace

FRONTEND_NAMES = ["frontend.waveform", "frontend.fbank", "frontend.features"]


def pass_lock() -> threading.RLock:
    """The lock a pipeline holds around each forward pass (and around changing its weights).

    Passes share the model's weights, which Nano's set_llm_dtype rewrites; and on a CPU,
    passes run side by side only compete for the same cores (20 concurrent requests took three
    times as long as the same requests in turn), while each holds its own activations."""
    return threading.RLock()


def serialised(method):
    """Run a pipeline method under the pipeline's pass lock."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)

    return locked


def materialise(model) -> None:
    """Evaluate every array the model holds, now.

    MLX (0.32) ties a lazy array to the stream of the thread that built it; another thread
    cannot evaluate it ("There is no Stream(cpu, 0) in current thread"). Weights loaded lazily
    in one thread (a server's loader) and used first in another (its workers) failed that way.
    """
    mx.eval(model)


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
