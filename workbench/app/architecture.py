"""A loaded model described for learners: its components with their size, and every stage a clip
passes through with the shape it has there (read off a traced run)."""

from __future__ import annotations

import mlx.core as mx
from mlx import nn

from ..quantize import COMPONENTS

FLOW = {
    "paraformer": "audio → fbank → LFR + CMVN → SAN-M encoder → CIF predictor (how many tokens, and where) → "
                  "decoder (every token at once) → text",
    "fun_asr_nano": "audio → fbank → LFR → SenseVoice encoder (SAN-M, then a second stack) → adaptor (into the "
                    "LLM's embedding space) → Qwen3 LLM reads the prompt with the audio inside → text token by token",
}
STAGES = {"frontend": "frontend", "encoder": "encoder", "predictor": "CIF predictor", "decoder": "decoder",
          "adaptor": "adaptor", "llm": "LLM", "ctc": "CTC head"}
# What each capture is, by generic name ({i} = layer index); docs/capture.md has the full list.
MEANINGS = {
    "frontend.waveform": "16 kHz mono samples",
    "frontend.fbank": "log-mel filterbank: a 25 ms window every 10 ms, 80 mel bins",
    "frontend.features": "LFR: fbank frames stacked several at a time (one frame per 60 ms): the encoder's input",
    "encoder.layers.{i}.attn": "self-attention probabilities per head: frame × frame",
    "encoder.layers.{i}.out": "output of this SAN-M layer (layer 0 also maps the LFR width to the model width)",
    "encoder.tp_layers.{i}.attn": "SenseVoice's second stack: self-attention per head",
    "encoder.tp_layers.{i}.out": "SenseVoice's second stack: output of this layer",
    "encoder.out": "the encoder's output, one vector per frame",
    "predictor.alphas": "CIF weight of each frame: how much of a token it holds",
    "predictor.fires": "the frame where each token fired: their count is the number of output tokens",
    "decoder.layers.{i}.cross_attn": "each token's attention over the encoder frames, per head",
    "decoder.layers.{i}.out": "output of this decoder layer, one vector per token",
    "decoder.logits": "scores over the vocabulary for every token, all computed at once",
    "adaptor.layers.{i}.attn": "adaptor block self-attention per head",
    "adaptor.out": "audio in the LLM's embedding space (upstream inserts the first ceil(T/8) rows into the prompt)",
    "llm.layers.{i}.attn": "per generated token: attention over every earlier position (prompt, audio, text so far)",
    "llm.steps": "one record per generated token: id, log-probability, entropy, top candidates",
    "ctc.logits": "the CTC head's scores over the vocabulary and a blank for every encoder frame: what the "
                  "encoder alone hears (demo models only)",
}


def generic(name: str) -> str:
    return ".".join("{i}" if part.isdigit() else part for part in name.split("."))


def stage_rows(captures: dict, tokens: list) -> list[list]:
    """[stage, capture name, shape, meaning] in the order the run produced them, then the output."""
    rows = [[STAGES.get(name.split(".")[0], ""), name, str(list(value.shape)), MEANINGS.get(generic(name), "")]
            for name, value in captures.items()]
    return rows + [["output", "tokens", str([len(tokens)]), "the transcript's tokens"]]


QUANTIZED = (nn.QuantizedLinear, nn.QuantizedEmbedding)


def _arrays(m: nn.Module):
    """(key, array) held directly by module m; a quantized layer's packed weight, scales and
    offsets are left out (they are described by its bit width)."""
    skip = ("weight", "scales", "biases") if isinstance(m, QUANTIZED) else ()
    return [(k, v) for k, v in m.items() if isinstance(v, mx.array) and k not in skip]


def parameter_count(modules: list[nn.Module]) -> int:
    """Parameters as trained: a quantized weight counts its unpacked entries."""
    return sum(sum(v.size for _, v in _arrays(m)) + (m.weight.size * 32 // m.bits if isinstance(m, QUANTIZED) else 0)
               for m in modules)


def storage(modules: list[nn.Module]) -> str:
    """How the weights are held: dtypes, and the bit widths of quantized layers."""
    kinds = {f"{m.bits}-bit (group {m.group_size})" for m in modules if isinstance(m, QUANTIZED)}
    kinds.update(str(v.dtype).removeprefix("mlx.core.") for m in modules for _, v in _arrays(m))
    return ", ".join(sorted(kinds))


def component_rows(pipeline) -> list[list]:
    """[component, attribute, class, parameters, MB, storage] per component that has a precision."""
    rows = []
    for component, path in COMPONENTS[pipeline.kind].items():
        module = pipeline.model
        for part in path.split("."):
            module = getattr(module, part)
        if isinstance(module, list):  # a stack of layers, described as one component
            label = f"{len(module)} × {type(module[0]).__name__}"
            modules = [sub for layer in module for sub in layer.modules()]
        else:
            label, modules = type(module).__name__, module.modules()
        megabytes = sum(v.nbytes for m in modules for v in m.values() if isinstance(v, mx.array)) / (1 << 20)
        rows.append([component, path, label, f"{parameter_count(modules):,}", round(megabytes, 2), storage(modules)])
    return rows
