"""One request's audio: where it comes from, whether it is acceptable, and how it is run.

Everything a user's input can cause (an unreadable file, a clip too long, a model directory that
is not one, a bad decoding setting) becomes a `gr.Error` for that user alone; the server and the
other sessions never see it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import numpy as np
import soundfile as sf

from ..audio import SAMPLE_RATE, load_audio
from ..errors import WorkbenchError
from ..evaluate import read_references
from ..segment import TRANSCRIBE_PAD_S, speech_segments, transcribe_long

MAX_SECONDS = 600  # ten minutes; longer uploads are refused with a clear message
MAX_UPLOAD = "50mb"
SEGMENT_OVER_SECONDS = 30  # longer clips are cut at pauses
SAMPLES = Path(__file__).resolve().parents[2] / "sample_audio"


def sample_clips() -> list[str]:
    return sorted(p.name for p in SAMPLES.glob("*.flac")) if SAMPLES.is_dir() else []


def sample_reference(sample: str | None) -> tuple[str, str] | None:
    """(reference text, language) of a sample clip, from sample_audio/refs.tsv."""
    refs = SAMPLES / "refs.tsv"
    if sample and refs.is_file():
        for row in read_references(refs):
            if Path(row["file"]).name == sample:
                return row["text"], row["language"]
    return None


def read_audio(upload: str | None, sample: str | None) -> np.ndarray:
    """The upload (or recording) if there is one, else the picked sample clip: checked for
    length before it is decoded, then as 16 kHz mono."""
    audio = upload or (str(SAMPLES / sample) if sample else None)
    if audio is None:
        raise gr.Error("Upload or record audio, or pick a sample clip.")
    with user_errors(audio):
        duration = sf.info(audio).duration
        if duration > MAX_SECONDS:
            raise gr.Error(f"The clip is {duration:.0f} s long; this app takes up to {MAX_SECONDS} s per clip.")
        return load_audio(audio)


def progress_bar() -> gr.Progress:
    """The request's progress bar. Gradio only finds a Progress parameter placed before *args,
    which the handlers take; made here, it reports through the request's context all the same."""
    return gr.Progress()


@contextmanager
def user_errors(audio: str | None = None):
    """Turn the errors a user's input can cause into a message for that user."""
    try:
        yield
    except WorkbenchError as exc:
        raise gr.Error(str(exc)) from None
    except sf.LibsndfileError as exc:
        detail = str(exc).split(":")[-1].strip()
        raise gr.Error(f"{Path(audio or '?').name}: not a readable audio file ({detail})") from None


def transcribe(pipeline, waveform: np.ndarray, progress=None, vad=None, **options):
    """The whole clip's transcription; clips over SEGMENT_OVER_SECONDS are cut at pauses (found
    by `vad`, an FsmnVad, or by frame energy) and `progress(fraction, desc=...)` hears after each piece."""
    if len(waveform) <= SEGMENT_OVER_SECONDS * SAMPLE_RATE:
        return pipeline.transcribe(waveform, sample_rate=SAMPLE_RATE, **options)
    report = (lambda done, total: progress(done / total, desc="segments")) if progress else None
    return transcribe_long(pipeline, waveform, sample_rate=SAMPLE_RATE, progress=report, vad=vad, **options)


def inspection_clip(waveform: np.ndarray, vad=None) -> tuple[np.ndarray, str]:
    """The audio whose internals are shown, with a note saying which: the clip itself (the same
    object), or for a long one its first stretch of speech, since attention maps grow with the
    square of the length."""
    seconds = len(waveform) / SAMPLE_RATE
    if seconds <= SEGMENT_OVER_SECONDS:
        return waveform, f"Shown: the whole clip ({seconds:.1f} s)."
    # Padded as transcribe_long pads, so that what is shown is the first segment it transcribes.
    segments = speech_segments(waveform, pad_s=TRANSCRIBE_PAD_S, vad=vad)
    start, end = (segments or [(0.0, float(SEGMENT_OVER_SECONDS))])[0]
    return waveform[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)], (
        f"The clip is {seconds:.0f} s long; shown: its first stretch of speech, {start:.1f}–{end:.1f} s."
    )


def transcribe_shown(request, capture: list[str]):
    """Transcribe the part of a request's audio that the tabs show (`inspection_clip`) with the
    `capture` names captured: (result, that clip, the note saying which part it is)."""
    clip, note = inspection_clip(request.waveform, request.vad)
    with user_errors():
        result = request.pipeline.transcribe(clip, sample_rate=SAMPLE_RATE, capture=capture, **request.options)
    return result, clip, note


def frame_seconds(pipeline) -> float:
    """Seconds per encoder frame: LFR advances lfr_n fbank frames of frame_shift ms."""
    conf = pipeline.config.frontend_conf
    return conf.lfr_n * conf.frame_shift / 1000


def decoding_warning(result) -> str:
    """How Nano's decoding ended, when that is worth a warning: a transcript cut at the token
    limit or caught in a repetition loop must not pass for a finished one. Empty otherwise."""
    reason, loop = result.extra.get("finish_reason"), result.extra.get("loop")
    if reason == "max_new_tokens":
        return "**Decoding stopped at the max-new-tokens limit: the transcript may be cut short.**"
    if reason == "loop" or loop:
        start, period = loop
        return f"**Repetition loop: a block of {period} token(s) repeats from token {start} on.**"
    return ""
