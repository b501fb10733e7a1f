"""Decoding settings as UI components, and the transcribe options they describe: Fun-ASR-Nano's
`DecodingConfig` or Paraformer's count search, and CTC rescoring for either (0: the decoding alone).

Used once for the shared inputs and once per Compare set-up, so the controls and their reading
stay one piece.
"""

from __future__ import annotations

import gradio as gr

from ..decoding import STRATEGIES, DecodingConfig
from ..models.ctc_rescore import MAX_WEIGHT
from ..pipelines.nano import rescoring_search
from ..pipelines.paraformer import MAX_COUNT_SEARCH


class DecodingControls:
    def __init__(self, strategy: str = "greedy"):
        self.strategy = gr.Radio(list(STRATEGIES), value=strategy, label="Strategy (Fun-ASR-Nano)")
        with gr.Row():
            self.beams = gr.Slider(1, 8, value=4, step=1, label="Beams (beam)")
            self.temperature = gr.Slider(0.05, 2.0, value=0.8, step=0.05, label="Temperature (sample)")
            self.top_p = gr.Slider(0.05, 1.0, value=0.9, step=0.05, label="Top-p (sample)")
            self.seed = gr.Number(value=0, precision=0, label="Seed (sample)")
            self.max_new_tokens = gr.Slider(8, 512, value=256, step=8, label="Max new tokens")
        self.count_search = gr.Slider(0, MAX_COUNT_SEARCH, value=0, step=1, label="Count search ± (Paraformer)",
                                      info="Also decode this many token counts either side of CIF's and keep "
                                           "the one the decoder is surest of; 0 is upstream's single pass.")
        self.ctc_rescore = gr.Slider(0, MAX_WEIGHT, value=0, step=0.1, label="CTC rescoring weight",
                                     info="Choose among Paraformer's 16 likeliest sentences, or a Nano beam "
                                          "search's (8 wide unless beam is chosen), with the CTC head's score at "
                                          "this weight (0.3 is the measured setting; models with a CTC head, as "
                                          "both demos); 0 is the decoding above alone.")

    @property
    def inputs(self) -> list:
        return [self.strategy, self.beams, self.temperature, self.top_p, self.seed, self.max_new_tokens,
                self.count_search, self.ctc_rescore]


def transcribe_options(pipeline, strategy, beams, temperature, top_p, seed, max_new_tokens, count_search,
                       ctc_rescore) -> dict:
    """DecodingControls.inputs' values → keyword arguments for `pipeline.transcribe`."""
    options = {}
    if ctc_rescore:
        try:
            pipeline.check_ctc_rescore(float(ctc_rescore))
        except ValueError as exc:
            raise gr.Error(f"{exc}; set the CTC rescoring weight to 0") from None
        options["ctc_rescore"] = float(ctc_rescore)
    if pipeline.kind == "fun_asr_nano":
        return {"decoding": decoding_config(strategy, beams, temperature, top_p, seed, max_new_tokens), **options}
    return {"count_search": int(count_search), **options} if count_search else options


def searches_a_beam(options: dict) -> bool:
    """Whether a Nano run with these options decodes by beam search: asked for, or in place of
    greedy or sampling for CTC rescoring. Per-token captures need one followed sequence."""
    return "decoding" in options and (options["decoding"].strategy == "beam" or "ctc_rescore" in options)


def decoding_config(strategy, beams, temperature, top_p, seed, max_new_tokens) -> DecodingConfig:
    """The settings as a validated config; an impossible combination is the user's message."""
    config = DecodingConfig(strategy=strategy, num_beams=int(beams), temperature=float(temperature),
                            top_p=float(top_p), seed=None if seed is None else int(seed),
                            max_new_tokens=int(max_new_tokens))
    try:
        config.validate()
    except ValueError as exc:
        raise gr.Error(str(exc)) from None
    return config


def describe(options: dict) -> str:
    """A short label for tables: 'single pass', 'count search ±1', 'CTC rescoring 0.3',
    'count search ±1, CTC rescoring 0.3', 'greedy', 'beam 4', 'beam 8, CTC rescoring 0.3',
    'sample T=0.8 p=0.9 seed 0'."""
    if "decoding" not in options:
        parts = [f"count search ±{options['count_search']}"] if "count_search" in options else []
        parts += [f"CTC rescoring {options['ctc_rescore']:g}"] if "ctc_rescore" in options else []
        return ", ".join(parts) or "single pass"
    config = options["decoding"]
    if "ctc_rescore" in options:
        return f"beam {rescoring_search(config).num_beams}, CTC rescoring {options['ctc_rescore']:g}"
    if config.strategy == "beam":
        return f"beam {config.num_beams}"
    if config.strategy == "sample":
        return f"sample T={config.temperature:g} p={config.top_p:g} seed {config.seed}"
    return "greedy"
