"""Long recordings: cut at pauses with an energy voice-activity detector, transcribe each segment,
join with global timestamps.

The models are trained on utterances of a few seconds (and upstream segments at 30 s at most); a
43 s clip in one pass costs paraformer-demo 32 % CER against 0–14 % on its sentences alone.
By default speech is found by frame energy in dB, against a threshold between the recording's
noise floor and its loud frames; with `vad=FsmnVad.load(...)` (`fsmn_vad.py`) by FunASR's real
FSMN-VAD network, which also tells loud noise from speech. Then short gaps are bridged and any
segment longer than `max_segment_s` split where speech is least likely, so nothing is ever dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from .audio import SAMPLE_RATE, load_audio
from .result import Transcription

HOP = 160  # 10 ms
WINDOW = 400  # 25 ms
# Silence kept around each segment that is transcribed. Chosen on held-out data, not on the sample
# clips: 300 test-split utterances strung together with 0.8-2 s pauses (the demos' model cards'
# `T`), cut and transcribed with pads of 0.15-0.35 s, gave paraformer-demo (run 16) 1.59 % CER and
# 6.71 % WER at 0.15 s, 0.87 % and 5.29 % at 0.25 s, 1.92 % and 5.86 % at 0.35 s, and nano-demo
# 4.47 % / 7.50 % at 0.15 s against 4.04 % / 5.93 % at 0.25 s (`scripts/measure_segment_pad.py`;
# docs/reliability.md, "Long audio"). Why 0.15 s is worse was not established: the detector's onset
# lags a sentence's start by about 0.08 s, so a segment then opens only about 0.07 s before it,
# where the training utterances had 0.05-2 s.
TRANSCRIBE_PAD_S = 0.25


def frame_energy_db(waveform: np.ndarray) -> np.ndarray:
    if len(waveform) < WINDOW:
        return np.full(1, -100.0)
    frames = np.lib.stride_tricks.sliding_window_view(waveform, WINDOW)[::HOP]
    return 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)


def speech_segments(waveform: np.ndarray, max_segment_s: float = 20.0, min_gap_s: float = 0.3,
                    min_speech_s: float = 0.1, pad_s: float = 0.15, vad=None) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of speech, covering every speech frame.

    Frames are speech by their energy (loud against the recording's own floor), or by `vad`'s
    decision when one is given (an `FsmnVad`: noise that is loud but not speech then makes no
    segment). Either way, pauses shorter than `min_gap_s` are bridged, blips shorter than
    `min_speech_s` dropped, each stretch padded by `pad_s`, and one longer than `max_segment_s`
    cut where speech is least likely."""
    # A negative pad would cut into the speech it surrounds; one over 2 s is likely milliseconds.
    if not 0 <= pad_s <= 2:
        raise ValueError(f"pad_s must be between 0 and 2 seconds of silence, got {pad_s!r}")
    if vad is not None and len(waveform) >= WINDOW:
        # the network's frames are the energy's: 25 ms windows every 10 ms, snipped at the edges
        probability = vad.speech_probability(waveform)
        return _segments(vad.is_speech(probability), probability, max_segment_s, min_gap_s, min_speech_s, pad_s)
    energy = frame_energy_db(waveform)
    floor, loud = np.percentile(energy, 10), np.percentile(energy, 95)
    if loud - floor < 6:  # no contrast: silence, or speech with no pauses at all
        return [] if loud < -60 else _split_long([(0, len(energy))], energy, max_segment_s)
    return _segments(energy > floor + 0.3 * (loud - floor), energy, max_segment_s, min_gap_s, min_speech_s, pad_s)


def _segments(speech: np.ndarray, score: np.ndarray, max_segment_s: float, min_gap_s: float, min_speech_s: float,
              pad_s: float) -> list[tuple[float, float]]:
    """Frame decisions → segments; `score` (energy or speech probability) picks where to cut."""
    runs, start = [], None
    for i, s in enumerate(np.append(speech, False)):
        if s and start is None:
            start = i
        elif not s and start is not None:
            runs.append([start, i])
            start = None
    merged = []
    for run in runs:  # bridge pauses shorter than min_gap_s: they are inside a sentence
        if merged and (run[0] - merged[-1][1]) * HOP / SAMPLE_RATE < min_gap_s:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    merged = [r for r in merged if (r[1] - r[0]) * HOP / SAMPLE_RATE >= min_speech_s]
    pad = int(pad_s * SAMPLE_RATE / HOP)
    # Each side of a pause gets at most half of it (less the window's overhang past a segment's last
    # frame), so neighbouring segments never share audio and no word is transcribed twice.
    shares = [min(pad, (b2 - a1 - 2) // 2) for (_, a1), (b2, _) in zip(merged, merged[1:])]
    before, after = [pad] + shares, shares + [pad]
    padded = [(max(0, a - p), min(len(speech), b + q)) for (a, b), p, q in zip(merged, before, after)]
    return _split_long(padded, score, max_segment_s)


def _split_long(frames: list[tuple[int, int]], score: np.ndarray, max_segment_s: float) -> list[tuple[float, float]]:
    limit = int(max_segment_s * SAMPLE_RATE / HOP)
    out, todo = [], list(frames)
    while todo:
        a, b = todo.pop(0)
        if b - a <= limit:
            out.append((a * HOP / SAMPLE_RATE, (b * HOP + WINDOW - HOP) / SAMPLE_RATE))
            continue
        quarter = (b - a) // 4  # cut where speech is least likely (quietest, or least probable) in the middle half
        cut = a + quarter + int(np.argmin(score[a + quarter : b - quarter]))
        todo[:0] = [(a, cut), (cut, b)]
    return out


def transcribe_long(pipeline, audio, *, sample_rate: int | None = None, max_segment_s: float = 20.0,
                    progress: Callable[[int, int], None] | None = None, vad=None, pad_s: float = TRANSCRIBE_PAD_S,
                    **options) -> Transcription:
    """Transcribe segment by segment; token times are global, `extra["segments"]` lists each piece.
    `vad`: an `FsmnVad` to find the speech (default: frame energy); `pad_s`: silence kept around
    each segment (TRANSCRIBE_PAD_S)."""
    waveform = load_audio(audio, sample_rate)
    segments = speech_segments(waveform, max_segment_s, pad_s=pad_s, vad=vad)
    texts, tokens, pieces, timings = [], [], [], {}
    for i, (start, end) in enumerate(segments):
        clip = waveform[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        if len(clip) < WINDOW:
            continue
        result = pipeline.transcribe(clip, sample_rate=SAMPLE_RATE, **options)
        for t in result.tokens:
            tokens.append(dataclasses.replace(t, start=None if t.start is None else round(t.start + start, 3),
                                              end=None if t.end is None else round(t.end + start, 3)))
        pieces.append({"start": round(start, 3), "end": round(end, 3), "text": result.text})
        texts.append(result.text)
        for stage, ms in result.timings.items():
            timings[stage] = timings.get(stage, 0.0) + ms
        if progress:
            progress(i + 1, len(segments))
    return Transcription(text=" ".join(t for t in texts if t), tokens=tokens, duration=len(waveform) / SAMPLE_RATE,
                         timings=timings, model=getattr(pipeline, "name", ""), extra={"segments": pieces})
