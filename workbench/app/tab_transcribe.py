"""Transcribe tab: the transcript with per-token confidence and times, stage timings, what the
model heard (waveform and fbank) and, for Paraformer, how CIF counted the tokens."""

from __future__ import annotations

import math

import gradio as gr

from .artifacts import Run, downloads, plot_slot, run_state
from .confidence import confidence_html
from .plots.features import cif_figure, features_figure
from .running import (
    decoding_warning,
    frame_seconds,
    progress_bar,
    transcribe,
    transcribe_shown,
    user_errors,
)
from .sources import SourceControls, resolve


def run_transcribe(*source):
    """One request: transcript, its tokens, timings and two figures (or a gr.Error)."""
    progress = progress_bar()
    request = resolve(*source)
    pipeline = request.pipeline
    names = ["frontend.*", "predictor.*"] if pipeline.kind == "paraformer" else ["frontend.*"]
    inspected, clip, note = transcribe_shown(request, names)
    # A short clip is its own inspection clip (the same array): one pass serves both.
    if clip is request.waveform:
        result = inspected
    else:
        with user_errors():
            result = transcribe(pipeline, request.waveform, progress, request.vad, **request.options)
    note = " ".join(filter(None, [note, decoding_warning(result)]))
    captures = inspected.captures
    run = Run({**result.to_dict(), "plots_show": note}, captures)
    features = run.draw("features", features_figure(captures["frontend.waveform"], captures["frontend.fbank"]))
    cif = None
    if "predictor.alphas" in captures:
        cif = run.draw("cif", cif_figure(captures["predictor.alphas"], captures["predictor.fires"],
                                         [t.text for t in inspected.tokens], frame_seconds(pipeline)))
    rows = [[t.text, t.start, t.end, round(t.logprob, 3), round(math.exp(t.logprob), 3)] for t in result.tokens]
    timings = {k: round(v, 1) for k, v in result.timings.items()}
    return result.text, confidence_html(result.tokens), rows, timings, features, cif, note, run


def transcribe_tab(source: SourceControls) -> None:
    go = gr.Button("Transcribe", variant="primary")
    text = gr.Textbox(label="Transcript", elem_id="transcript")
    confidence = gr.HTML(label="Tokens by confidence")
    with gr.Accordion("Tokens, times and stage timings", open=False):
        tokens = gr.Dataframe(headers=["token", "start s", "end s", "log-prob", "probability"], label="Tokens")
        timings = gr.JSON(label="Stage timings (ms)")
    note = gr.Markdown()
    features = plot_slot("Waveform and log-mel features")
    gr.Markdown("What the model hears: the 16 kHz waveform, and the log-mel filterbank (80 bins every 10 ms) "
                "that the frontend stacks into the encoder's input.")
    cif = plot_slot("CIF: alphas and fire points (Paraformer)")
    gr.Markdown("How Paraformer decides how many tokens it heard: the predictor gives every encoder frame a "
                "weight (alpha); a token fires each time their running sum crosses 1, and fires at that frame.")
    state = run_state()
    go.click(run_transcribe, source.inputs, [text, confidence, tokens, timings, features, cif, note, state],
             api_name="transcribe")
    downloads(state, "transcribe_files")
