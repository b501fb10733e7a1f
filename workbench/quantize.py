"""Precision and quantization per component, and what each level costs.

A level is one of fp32, bf16, fp16 (weights stored in that type) or 8bit / 4bit (MLX affine
quantization of Linear and Embedding weights, per group of `group_size` input columns; the
SAN-M FSMN convolutions and norms stay in fp32). The frontend is never touched. Quantized
weights are found at load time from their `.scales` companions, with bits and group size read
off the shapes, so a quantized model directory needs no extra manifest.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten

from .errors import WorkbenchError

LEVELS = ("fp32", "bf16", "fp16", "8bit", "4bit")
GROUP_SIZES = (32, 64, 128)  # what MLX's affine quantization supports
# Component name → attribute path inside each model family.
COMPONENTS = {
    "paraformer": {"encoder": "encoder", "predictor": "predictor", "decoder": "decoder"},
    "fun_asr_nano": {"encoder": "audio_encoder", "adaptor": "audio_adaptor", "llm": "llm.model.layers",
                     "embeddings": "llm.model.embed_tokens"},
}


def _module(model: nn.Module, path: str):
    for part in path.split("."):
        model = model[part] if isinstance(model, dict) else getattr(model, part)
    return model


def _quantizable(group_size: int):
    def predicate(_path, module) -> bool:
        return isinstance(module, (nn.Linear, nn.Embedding)) and module.weight.shape[-1] % group_size == 0

    return predicate


def check_levels(levels: dict[str, str], kind: str, group_size: int = 64) -> None:
    """Refuse unknown components, levels or group sizes (all before anything is changed; an
    unsupported group size used to quantize nothing, silently)."""
    if group_size not in GROUP_SIZES:
        raise WorkbenchError(f"group size {group_size} is not supported; "
                             f"choose from {', '.join(map(str, GROUP_SIZES))}")
    components = COMPONENTS[kind]
    for component, level in levels.items():
        if component not in components:
            raise WorkbenchError(f"unknown component {component!r} for {kind}; choose from {', '.join(components)}")
        if level not in LEVELS:
            raise WorkbenchError(f"unknown level {level!r}; choose from {', '.join(LEVELS)}")


def apply_levels(model: nn.Module, kind: str, levels: dict[str, str], group_size: int = 64) -> None:
    """Set each named component to its level, e.g. {"encoder": "8bit", "llm": "4bit"}."""
    check_levels(levels, kind, group_size)
    components = COMPONENTS[kind]
    for component, level in levels.items():
        prefix = components[component]
        if level in ("bf16", "fp16"):
            target = _module(model, prefix)
            for module in target if isinstance(target, list) else [target]:
                module.set_dtype(mx.bfloat16 if level == "bf16" else mx.float16)
        elif level.endswith("bit"):
            # Quantized from the root, selected by path: nn.quantize replaces the children of the
            # module it is given, so a component that is itself one layer (the embedding table)
            # would otherwise be left as it was, silently.
            quantizable = _quantizable(group_size)

            def inside(path, module, prefix=prefix):
                return (path == prefix or path.startswith(prefix + ".")) and quantizable(path, module)

            nn.quantize(model, group_size=group_size, bits=int(level[0]), class_predicate=inside)
    # Evaluated now, on this thread: a lazy array cannot be evaluated from another thread (see
    # pipelines.common.materialise), and servers quantize in one thread and transcribe in others.
    mx.eval(model)


def parse_levels(spec: str, kind: str) -> dict[str, str]:
    """'8bit' (every component) or 'encoder=8bit,llm=4bit'."""
    if "=" not in spec:
        return {component: spec for component in COMPONENTS[kind]}
    try:
        return dict(item.split("=", 1) for item in spec.split(","))
    except ValueError:
        raise WorkbenchError(f"cannot read quantization spec {spec!r}; use LEVEL or COMPONENT=LEVEL,...") from None


def quantize_like_checkpoint(model: nn.Module, weights: dict[str, mx.array]) -> None:
    """Turn the layers whose weights arrive quantized into quantized layers of matching bits/group."""

    def stored_quantized(path: str, module):
        scales = weights.get(f"{path}.scales")
        if scales is None or not isinstance(module, (nn.Linear, nn.Embedding)):
            return False
        in_features = module.weight.shape[-1]
        return {"bits": weights[f"{path}.weight"].shape[-1] * 32 // in_features,
                "group_size": in_features // scales.shape[-1]}

    nn.quantize(model, class_predicate=stored_quantized)


def parameter_bytes(model: nn.Module) -> int:
    return sum(v.nbytes for _, v in tree_flatten(model.parameters()))


def weight_errors(reference: nn.Module, other: nn.Module) -> dict[str, float]:
    """Relative Frobenius error of every quantized layer's dequantized weight against fp32."""
    ref = dict(reference.named_modules())
    errors = {}
    for path, module in other.named_modules():
        if isinstance(module, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
            w = mx.dequantize(module.weight, module.scales, module.biases, module.group_size, module.bits)
            r = ref[path].weight
            errors[path] = (mx.linalg.norm(w - r) / mx.linalg.norm(r)).item()
        elif isinstance(module, (nn.Linear, nn.Embedding)) and module.weight.dtype != mx.float32:
            r = ref[path].weight
            errors[path] = (mx.linalg.norm(module.weight.astype(mx.float32) - r) / mx.linalg.norm(r)).item()
    return errors


def quantize_model_dir(path, spec: str, group_size: int = 64) -> dict[str, str]:
    """Quantize a converted model directory in place (the weights file is replaced atomically)."""
    import json
    import os
    from pathlib import Path

    from .loading import load

    path = Path(path)
    pipeline = load(path)
    levels = parse_levels(spec, pipeline.kind)
    apply_levels(pipeline.model, pipeline.kind, levels, group_size)
    tmp = path / ".tmp-model.safetensors"  # MLX appends ".safetensors" to names that lack it
    try:
        mx.save_safetensors(str(tmp), dict(tree_flatten(pipeline.model.parameters())), metadata={"format": "mlx"})
        os.replace(tmp, path / "model.safetensors")
    finally:
        tmp.unlink(missing_ok=True)  # a failed write leaves no stray file in the model directory
    config = json.loads((path / "config.json").read_text())
    config["quantization"] = {"levels": levels, "group_size": group_size}  # informational; loading reads the weights
    (path / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return levels
