"""Fun-ASR-Nano's decoding settings as UI components, and the `DecodingConfig` they describe.

Used once for the shared inputs and once per Compare set-up, so the controls and their reading
stay one piece. Paraformer decodes in one non-autoregressive pass and ignores them.
"""

from __future__ import annotations

import gradio as gr

from ..decoding import STRATEGIES, DecodingConfig


class DecodingControls:
    def __init__(self, strategy: str = "greedy"):
        self.strategy = gr.Radio(list(STRATEGIES), value=strategy, label="Strategy (Fun-ASR-Nano)")
        with gr.Row():
            self.beams = gr.Slider(1, 8, value=4, step=1, label="Beams (beam)")
            self.temperature = gr.Slider(0.05, 2.0, value=0.8, step=0.05, label="Temperature (sample)")
            self.top_p = gr.Slider(0.05, 1.0, value=0.9, step=0.05, label="Top-p (sample)")
            self.seed = gr.Number(value=0, precision=0, label="Seed (sample)")
            self.max_new_tokens = gr.Slider(8, 512, value=256, step=8, label="Max new tokens")

    @property
    def inputs(self) -> list:
        return [self.strategy, self.beams, self.temperature, self.top_p, self.seed, self.max_new_tokens]


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


def describe(config: DecodingConfig) -> str:
    """A short label for tables: 'greedy', 'beam 4', 'sample T=0.8 p=0.9 seed 0'."""
    if config.strategy == "beam":
        return f"beam {config.num_beams}"
    if config.strategy == "sample":
        return f"sample T={config.temperature:g} p={config.top_p:g} seed {config.seed}"
    return "greedy"
