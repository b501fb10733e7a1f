"""Gradio UI: pick a model and a clip, transcribe, and see the features and CIF at work.

Models load once and are shared by all sessions; each model serves one request at a time (a
lock around its forward pass) while the queue bounds how many requests run at once. A user's
bad upload comes back as a message in the UI, never as a crash of the server.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import gradio as gr
import soundfile as sf

from ..audio import load_audio
from ..errors import WorkbenchError
from ..loading import BUNDLED_DIR, load
from ..segment import transcribe_long
from .plots import cif_figure, features_figure

MAX_SECONDS = 600  # ten minutes; longer uploads are refused with a clear message
SEGMENT_OVER_SECONDS = 30  # longer clips are cut at pauses (plots then show the first segment's model pass)
MAX_UPLOAD = "50mb"
SAMPLES = Path(__file__).resolve().parents[2] / "sample_audio"

_models: dict[str, tuple] = {}
_models_lock = threading.Lock()


def bundled_models() -> list[str]:
    return sorted(p.name for p in BUNDLED_DIR.iterdir() if (p / "config.json").is_file()) if BUNDLED_DIR.is_dir() else []


def sample_clips() -> list[str]:
    return sorted(p.name for p in SAMPLES.glob("*.flac")) if SAMPLES.is_dir() else []


def _pipeline(name: str):
    with _models_lock:
        if name not in _models:
            _models[name] = (load(name), threading.Lock())
        return _models[name]


def transcribe(model_name: str, model_dir: str, upload: str | None, sample: str | None):
    """One request: returns transcript, token table, timings and two figures (or raises gr.Error)."""
    audio = upload or (str(SAMPLES / sample) if sample else None)
    if audio is None:
        raise gr.Error("Upload or record audio, or pick a sample clip.")
    try:
        info = sf.info(audio)
        if info.duration > MAX_SECONDS:
            raise gr.Error(f"The clip is {info.duration:.0f} s long; this app takes up to {MAX_SECONDS} s per clip.")
        pipeline, lock = _pipeline(model_dir.strip() or model_name)
        names = ["frontend.*", "predictor.*"] if pipeline.kind == "paraformer" else ["frontend.*"]
        with lock:
            if info.duration > SEGMENT_OVER_SECONDS:
                track = gr.Progress()
                result = transcribe_long(pipeline, audio, progress=lambda done, total: track(done / total))
                first = result.extra["segments"][0]
                clip = load_audio(audio)[int(first["start"] * 16000) : int(first["end"] * 16000)]
                inspected = pipeline.transcribe(clip, sample_rate=16000, capture=names)
            else:
                result = inspected = pipeline.transcribe(audio, capture=names)
    except WorkbenchError as exc:
        raise gr.Error(str(exc)) from None
    except sf.LibsndfileError as exc:
        detail = str(exc).split(":")[-1].strip()
        raise gr.Error(f"{Path(audio).name}: not a readable audio file ({detail})") from None
    c = inspected.captures
    rows = [[t.text, t.start, t.end, round(t.logprob, 3), round(math.exp(t.logprob), 3)]
            for t in result.tokens]
    figures = [features_figure(c["frontend.waveform"], c["frontend.fbank"])]
    if "predictor.alphas" in c:
        figures.append(cif_figure(c["predictor.alphas"], c["predictor.fires"], [t.text for t in inspected.tokens],
                                  pipeline.frame_seconds))
    else:
        figures.append(None)
    timings = {k: round(v, 1) for k, v in result.timings.items()}
    return result.text, rows, timings, *figures


def build_app() -> gr.Blocks:
    models = bundled_models()
    with gr.Blocks(title="FunASR Workbench") as app:
        gr.Markdown(
            "# FunASR Workbench\nTranscribe a clip and see what each stage of the model did. "
            f"Clips up to {MAX_SECONDS // 60} minutes and {MAX_UPLOAD}, any format libsndfile reads; clips over {SEGMENT_OVER_SECONDS} s are cut at pauses."
        )
        with gr.Row():
            model_name = gr.Dropdown(models, value=models[0] if models else None, label="Bundled model")
            model_dir = gr.Textbox(label="…or a converted model directory", placeholder="/path/to/model")
        with gr.Row():
            upload = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio")
            sample = gr.Dropdown(sample_clips(), value=None, label="…or a sample clip")
        go = gr.Button("Transcribe", variant="primary")
        text = gr.Textbox(label="Transcript")
        tokens = gr.Dataframe(headers=["token", "start s", "end s", "log-prob", "probability"], label="Tokens")
        timings = gr.JSON(label="Stage timings (ms)")
        features = gr.Plot(label="Waveform and log-mel features")
        cif = gr.Plot(label="CIF: alphas and fire points (Paraformer)")
        go.click(transcribe, [model_name, model_dir, upload, sample], [text, tokens, timings, features, cif],
                 api_name="transcribe")
    return app
