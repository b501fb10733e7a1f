"""One set-up's run on a clip, measured: transcript, latency, weight size and run memory.

A set-up's failure (a directory that is not a model, a precision spec that does not parse, an
impossible decoding setting) is its outcome, so the other set-ups of a comparison still run.
"""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass

import gradio as gr
import mlx.core as mx
import numpy as np

from ..audio import SAMPLE_RATE
from ..errors import WorkbenchError
from . import models
from .decoding_controls import describe, transcribe_options
from .running import transcribe

MB = 1 << 20
# Peak memory is process-wide: comparisons run one at a time so a set-up's figure is not another
# comparison's (a transcription in another tab may still overlap; the caption says so).
_one_comparison = threading.Lock()


@dataclass
class Setup:
    label: str
    model: str
    precision: str
    decoding: tuple  # DecodingControls values


@dataclass
class Outcome:
    setup: Setup
    text: str = ""
    error: str | None = None
    decoding: str = ""
    latency_ms: float = float("nan")  # median transcription time over the repeats
    rtf: float = float("nan")
    weights_mb: float = float("nan")
    run_mb: float = float("nan")  # peak memory above what was resident before the run


def measure_all(setups: list[Setup], waveform: np.ndarray, repeats: int, progress, vad=None) -> list[Outcome]:
    """Each set-up in turn; a long clip is cut where `vad` (an FsmnVad; None: frame energy) finds speech."""
    with _one_comparison:
        outcomes = []
        for i, setup in enumerate(setups):
            progress((i, len(setups)), desc=f"set-up {setup.label}", unit="set-ups")
            outcomes.append(measure(setup, waveform, repeats, vad))
        return outcomes


def measure(setup: Setup, waveform: np.ndarray, repeats: int, vad=None) -> Outcome:
    try:
        loaded = models.get(setup.model, setup.precision)
        options = transcribe_options(loaded.pipeline, *setup.decoding)
        totals = []
        with loaded.pipeline.lock:  # re-entrant: no other request's pass falls inside the window
            resident = mx.get_active_memory()
            mx.reset_peak_memory()
            for _ in range(repeats):
                result = transcribe(loaded.pipeline, waveform, vad=vad, **options)
                totals.append(result.timings["total"])
            run_bytes = mx.get_peak_memory() - resident
    except WorkbenchError as exc:
        return Outcome(setup, error=str(exc))
    except gr.Error as exc:  # its str() is quoted
        return Outcome(setup, error=exc.message)
    latency = statistics.median(totals)
    return Outcome(setup, text=result.text, decoding=describe(options),
                   latency_ms=latency, rtf=latency / 1000 / (len(waveform) / SAMPLE_RATE),
                   weights_mb=loaded.weight_bytes / MB, run_mb=max(run_bytes, 0) / MB)
