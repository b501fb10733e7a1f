"""Learn tab: the loaded model's architecture as tables: its components with their size and
precision, and the shape of the clip at every stage (a traced run)."""

from __future__ import annotations

import gradio as gr

from .architecture import FLOW, component_rows, stage_rows
from .artifacts import Run, downloads, run_state
from .decoding_controls import searches_a_beam
from .running import progress_bar, transcribe_shown
from .sources import SourceControls, resolve

STAGE_HEADERS = ["stage", "capture name", "shape", "what it is"]
COMPONENT_HEADERS = ["component", "attribute", "class", "parameters", "MB", "storage"]


def shape_names(pipeline, options: dict) -> list[str]:
    """Every capture the run can give, except the LLM's full logits (a vocabulary-wide row per
    step, large for nothing here: llm.steps describes each step) and, under beam search, the
    per-token attention that only one followed sequence has."""
    beam = searches_a_beam(options)
    return [n for n in pipeline.capture_names()
            if n != "llm.logits" and not (beam and n.startswith("llm.layers."))]


def run_learn(*source):
    progress = progress_bar()
    request = resolve(*source)
    pipeline = request.pipeline
    progress(0.2, desc="tracing the run")
    result, _, note = transcribe_shown(request, shape_names(pipeline, request.options))
    stages, components = stage_rows(result.captures, result.tokens), component_rows(pipeline)
    config = pipeline.config.to_dict()
    run = Run({"flow": FLOW[pipeline.kind], "stages": [dict(zip(STAGE_HEADERS, r)) for r in stages],
               "components": [dict(zip(COMPONENT_HEADERS, r)) for r in components], "config": config})
    summary = f"**{pipeline.name or 'model'}** ({pipeline.kind}): {FLOW[pipeline.kind]}.\n\n{note}"
    return summary, components, stages, config, run


def learn_tab(source: SourceControls) -> None:
    go = gr.Button("Trace the model on this clip", variant="primary")
    summary = gr.Markdown()
    components = gr.Dataframe(headers=COMPONENT_HEADERS, label="Components", wrap=True)
    gr.Markdown("The parts a precision can be chosen for (see the Compare tab): their class, parameter count as "
                "trained, size as loaded, and how their weights are stored.")
    stages = gr.Dataframe(headers=STAGE_HEADERS, label="Stages, with the clip's shape at each", wrap=True)
    gr.Markdown("Every internal the model can report, in the order this clip produced them. T is the number of "
                "encoder frames (one per 60 ms), N the number of output tokens; attention maps are [heads, "
                "queries, keys]. Capture any of them by name: `pipeline.transcribe(audio, capture=[...])`.")
    with gr.Accordion("Configuration", open=False):
        config = gr.JSON(label="config.json as loaded")
    state = run_state()
    go.click(run_learn, source.inputs, [summary, components, stages, config, state], api_name="learn")
    downloads(state, "learn_files")
