"""Internals tab: attention maps layer by layer and head by head, and the model's confidence at
every output position.

One run captures every attention map of the clip (the first stretch of speech of a long one) and
keeps them in the session, so choosing another layer or head only redraws.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import gradio as gr

from ..models.ctc import CAPTURE as CTC_CAPTURE
from .artifacts import Run, downloads, plot_slot, run_state
from .decoding_controls import searches_a_beam
from .plots.attention import (
    cross_attention_figure,
    llm_attention_figure,
    self_attention_figure,
)
from .plots.decoding import steps_figure
from .positions import output_positions, table, token_namer
from .running import decoding_warning, frame_seconds, progress_bar, transcribe_shown
from .sources import SourceControls, resolve

MEAN_OF_HEADS = -1
SELF_ATTENTION = ["encoder.layers.*.attn", "encoder.tp_layers.*.attn", "adaptor.layers.*.attn"]
NO_TOKEN_ATTENTION = (" Beam search follows several hypotheses at once: per-token attention needs greedy or sample, "
                      "without CTC rescoring.")


def capture_patterns(pipeline, options: dict) -> list[str]:
    if pipeline.kind == "paraformer":
        wanted = [*SELF_ATTENTION, "predictor.fires", "decoder.layers.*.cross_attn", "decoder.logits"]
    else:
        wanted = SELF_ATTENTION + ([] if searches_a_beam(options) else ["llm.layers.*.attn"])
    # A demo model's CTC head: what the encoder alone hears, beside what the decoder or LLM wrote.
    wanted.append(CTC_CAPTURE)
    available = pipeline.capture_names()
    return [p for p in wanted if any(fnmatchcase(n, p) for n in available)]  # e.g. no tp_layers stack


def is_self_attention(name: str) -> bool:
    return name.endswith(".attn") and not name.startswith("llm.")


def is_token_attention(name: str) -> bool:
    return name.endswith(".cross_attn") or (name.startswith("llm.layers.") and name.endswith(".attn"))


def run_inspect(*source):
    progress = progress_bar()
    request = resolve(*source)
    pipeline = request.pipeline
    progress(0.1, desc="running the model with its attention captured")
    result, _, note = transcribe_shown(request, capture_patterns(pipeline, request.options))
    heard = result.captures.get(CTC_CAPTURE)
    heard = f"The encoder alone (its CTC head, read greedily) hears: {pipeline.ctc_reading(heard)!r}." \
        if heard is not None else ""
    note = " ".join(filter(None, [note, decoding_warning(result), heard]))
    progress(0.6, desc="drawing")
    name = token_namer(pipeline)
    records = output_positions(pipeline, result)
    view = {"frame_seconds": frame_seconds(pipeline), "labels": [name(r["token"]) for r in records]}
    if pipeline.kind == "fun_asr_nano":
        prompt = result.extra["prompt_ids"]
        view["prompt"] = [len(prompt["prefix"]), result.extra["n_audio_positions"], len(prompt["suffix"])]
        view["position_seconds"] = view["frame_seconds"] * pipeline.config.audio_adaptor_conf.downsample_rate
        if searches_a_beam(request.options):
            note += NO_TOKEN_ATTENTION
    run = Run({**result.to_dict(), "view": view}, result.captures)
    # A map with no rows (no token was produced) has nothing to draw.
    selectors = [_select(run, [n for n, a in result.captures.items() if keep(n) and a.size])
                 for keep in (is_self_attention, is_token_attention)]
    confidence = run.draw("confidence", steps_figure(records, view["labels"])) if records else None
    return note, *selectors[0], *selectors[1], table(records, name), confidence, run


def _select(run: Run, names: list[str]):
    """(map dropdown, head dropdown, image) showing the first map, mean of heads."""
    if not names:
        return gr.update(choices=[], value=None), gr.update(choices=[], value=None), None
    return gr.update(choices=names, value=names[0]), *show_map(run, names[0])


def show_map(run: Run, name: str):
    """A newly chosen map: its heads (the count differs between stacks) and its mean."""
    heads = [("mean of heads", MEAN_OF_HEADS)] + [(f"head {h}", h) for h in range(run.arrays[name].shape[0])]
    return gr.update(choices=heads, value=MEAN_OF_HEADS), draw(run, name, MEAN_OF_HEADS)


def draw(run: Run, name: str, head: int) -> str:
    attn = run.arrays[name]
    matrix = attn.mean(axis=0) if head == MEAN_OF_HEADS else attn[head]
    which = "mean of heads" if head == MEAN_OF_HEADS else f"head {head}"
    title = f"{name}, {which}"
    view = run.payload["view"]
    if is_self_attention(name):
        # The adaptor's frames are encoder frames stacked `downsample_rate` at a time.
        step = view["position_seconds"] if name.startswith("adaptor.") else view["frame_seconds"]
        return run.draw("self_attention", self_attention_figure(matrix, step, title), f"{name}-{which}")
    if name.startswith("llm."):
        fig = llm_attention_figure(matrix, view["labels"], view["prompt"], view["position_seconds"], title)
    else:
        fig = cross_attention_figure(matrix, view["labels"], view["frame_seconds"], title,
                                     run.arrays["predictor.fires"])
    return run.draw("token_attention", fig, f"{name}-{which}")


def _map_picker(label: str, key: str):
    with gr.Row():
        name = gr.Dropdown([], label=label, elem_id=f"{key}-map")
        head = gr.Dropdown([], label="Head", elem_id=f"{key}-head")
    image = plot_slot(label, f"{key}-image")
    return name, head, image


def internals_tab(source: SourceControls) -> None:
    go = gr.Button("Inspect internals", variant="primary")
    note = gr.Markdown()
    self_pick = _map_picker("Self-attention map", "self")
    gr.Markdown("Each row is a frame attending, each column a frame attended to (seconds); brighter means more "
                "attention. SAN-M layers also have a local memory block (FSMN) beside this attention, which it "
                "does not show. Fun-ASR-Nano also lists SenseVoice's second stack (`tp_layers`) and the adaptor.")
    token_pick = _map_picker("Token attention map", "token")
    gr.Markdown("Paraformer: each output token's cross-attention over the encoder frames in one decoder layer; red "
                "crosses mark the frame where CIF fired the token. Fun-ASR-Nano: for each generated token, where "
                "the position that produced it looked among the prompt's audio positions (left), and how its "
                "attention splits between the text prompt, the audio and the text generated so far (right).")
    steps = gr.Dataframe(headers=["position", "token", "probability", "entropy (nats)", "top candidates"],
                         label="Output positions", wrap=True, elem_id="positions")
    confidence = plot_slot("Confidence per output position")
    gr.Markdown("How sure the model was at each output position: the chosen token's probability beside its top "
                "candidates', and the entropy of the distribution (0 = certain). Fun-ASR-Nano: one row per "
                "decoding step under the model distribution (temperature 1, no penalty), the last being the stop "
                "token. Paraformer: one row per token of its single parallel pass.")
    state = run_state()
    go.click(run_inspect, source.inputs, [note, *self_pick, *token_pick, steps, confidence, state], api_name="inspect")
    for name, head, image in (self_pick, token_pick):
        # .input, not .change: only a person's choice redraws, not the updates run_inspect sends.
        name.input(show_map, [state, name], [head, image], api_visibility="private")
        head.input(draw, [state, name, head], image, api_visibility="private")
    downloads(state, "inspect_files")
