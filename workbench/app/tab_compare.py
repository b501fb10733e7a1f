"""Compare tab: the same clip through up to three set-ups side by side (models, precisions, Nano
decoding strategies, Paraformer count search and CTC rescoring), with the differences in the text
highlighted, error rates against an optional reference, latency and memory."""

from __future__ import annotations

import gradio as gr

from ..evaluate import edit_distance, units
from . import models
from .artifacts import Run, downloads, plot_slot, run_state
from .decoding_controls import DecodingControls
from .measure import Outcome, Setup, measure_all
from .plots.compare import compare_figure
from .running import progress_bar, read_audio, sample_reference
from .sources import SourceControls, speech_detector
from .textdiff import COLOURS, diff_spans

NONE = "(none)"
LABELS = "ABC"
HEADERS = ["set-up", "model", "precision", "decoding", "transcript", "errors / units", "CER/WER", "latency ms",
           "RTF", "weights MB", "run MB"]


class SetupControls:
    def __init__(self, label: str, model: str, precision: str):
        with gr.Column():
            gr.Markdown(f"**Set-up {label}**")
            self.model = gr.Dropdown([NONE, *models.bundled_models()], value=model, allow_custom_value=True,
                                     label="Model (bundled, or type a directory)", elem_id=f"setup-{label}-model")
            self.precision = gr.Dropdown(models.PRECISIONS, value=precision, allow_custom_value=True,
                                         label="Precision", info="a level, or per component: encoder=8bit,decoder=4bit")
            with gr.Accordion("Decoding (Fun-ASR-Nano)", open=False):
                self.decoding = DecodingControls()

    @property
    def inputs(self) -> list:
        return [self.model, self.precision, *self.decoding.inputs]


def default_setups() -> list[tuple[str, str]]:
    """A: the default model as stored; B: the same at 8 bits; C: the other bundled model, if any."""
    names = models.bundled_models()
    first = names[0] if names else NONE
    other = names[1] if len(names) > 1 else NONE
    return [(first, models.AS_STORED), (first, "8bit"), (other, models.AS_STORED)]


def fill_reference(sample: str | None):
    found = sample_reference(sample)
    return found if found else ("", gr.update())


def run_compare(upload, sample, reference, language, repeats, *slots_and_detector):
    progress = progress_bar()
    *slots, detector = slots_and_detector
    waveform = read_audio(upload, sample)
    setups = _setups(slots)
    if not setups:
        raise gr.Error("Choose a model for at least one set-up.")
    outcomes = measure_all(setups, waveform, int(repeats), progress, speech_detector(detector))
    reference = (reference or "").strip()
    scored = [(o, None if o.error else _errors(reference, o.text, language)) for o in outcomes]
    done = [(o, errors) for o, errors in scored if o.error is None]
    rows = [_row(o, errors) for o, errors in scored]
    # Without a reference, transcripts are compared with the first set-up that produced one.
    base = None if reference or not done else done[0][0]
    diffs = {o.setup.label: gr.update(value=diff_spans(base.text if base else reference, o.text),
                                      label=_diff_label(o, base), visible=True) for o, _ in done}
    run = Run({"reference": reference, "language": language, "headers": HEADERS, "rows": rows})
    figure = None
    if done:
        figure = run.draw("compare", compare_figure(
            [o.setup.label for o, _ in done], [o.latency_ms for o, _ in done], [o.weights_mb for o, _ in done],
            [o.run_mb for o, _ in done], [_rate(errors) for _, errors in done]))
    return rows, *(diffs.get(label, gr.update(value=None, visible=False)) for label in LABELS), figure, run


def _setups(slots: list) -> list[Setup]:
    """The slot values (SetupControls.inputs of A, B, C in a row) → the set-ups that have a model."""
    width = len(slots) // len(LABELS)
    setups = []
    for label, i in zip(LABELS, range(0, len(slots), width)):
        model, precision, *decoding = slots[i : i + width]
        if model and model.strip() != NONE:
            setups.append(Setup(label, model.strip(), (precision or "").strip() or models.AS_STORED, tuple(decoding)))
    return setups


def _errors(reference: str, text: str, language: str) -> tuple[int, int] | None:
    """(edit distance, reference units) as `workbench eval` counts them; None without a reference."""
    if not reference:
        return None
    ref = units(reference, language)
    return edit_distance(ref, units(text, language)), len(ref)


def _rate(errors: tuple[int, int] | None) -> float | None:
    return None if errors is None else round(errors[0] / max(errors[1], 1), 3)


def _row(o: Outcome, errors: tuple[int, int] | None) -> list:
    head = [o.setup.label, o.setup.model, o.setup.precision, o.decoding]
    if o.error is not None:
        return head + [f"error: {o.error}"] + [None] * (len(HEADERS) - len(head) - 1)
    return head + [o.text, "" if errors is None else f"{errors[0]} / {errors[1]}", _rate(errors),
                   round(o.latency_ms, 1), round(o.rtf, 3), round(o.weights_mb, 1), round(o.run_mb, 1)]


def _diff_label(o: Outcome, base: Outcome | None) -> str:
    if base is None:
        return f"Set-up {o.setup.label} compared with the reference"
    if o is base:
        return f"Set-up {o.setup.label}: the others are compared with it"
    return f"Set-up {o.setup.label} compared with set-up {base.setup.label}"


def compare_tab(source: SourceControls) -> None:
    gr.Markdown("The audio above through up to three set-ups: other models, precisions (weights quantized at load "
                "time), Fun-ASR-Nano decoding strategies, or Paraformer with and without count search or CTC "
                "rescoring. Set a "
                "set-up's model to (none) to leave it out.")
    with gr.Row():
        reference = gr.Textbox(label="Reference transcript (optional; filled in for sample clips)", scale=3)
        language = gr.Radio(["zh", "en"], value="zh", label="Scoring",
                            info="zh: CER (characters; English words count one each); en: WER")
        repeats = gr.Slider(1, 5, value=1, step=1, label="Runs per set-up", info="latency is their median")
    with gr.Row():
        setups = [SetupControls(label, *default) for label, default in zip(LABELS, default_setups())]
    go = gr.Button("Compare", variant="primary")
    table = gr.Dataframe(headers=HEADERS, label="Results", wrap=True, elem_id="compare-results")
    diffs = [gr.HighlightedText(label=f"Set-up {label}", color_map=COLOURS, show_legend=True, combine_adjacent=True,
                                visible=False)
             for label in LABELS]
    gr.Markdown("Highlighted: units (characters, or words) a transcript has that the reference (or set-up A, "
                "without one) lacks, and those it is missing.")
    figure = plot_slot("Latency, memory and error rate")
    gr.Markdown("Latency is the transcription time without loading. Weights: the loaded parameters (quantized "
                "ones packed). Run MB: MLX's peak memory during the run above what was resident before it; a "
                "request running at the same time in another tab adds to it.")
    state = run_state()
    source.sample.change(fill_reference, source.sample, [reference, language], api_visibility="private")
    # The detector comes last, so an API call that leaves it out keeps the energy detector.
    go.click(run_compare, [source.upload, source.sample, reference, language, repeats,
                           *(c for s in setups for c in s.inputs), source.detector], [table, *diffs, figure, state],
             api_name="compare")
    downloads(state, "compare_files")
