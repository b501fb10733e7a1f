"""Strict weight matching shared by the converters and the loader.

Every key the model expects must be present with exactly the expected shape, and every key the
file holds must be used (or explicitly skipped), so a wrong or partial checkpoint fails loudly
with the offending key names instead of running with random weights.
"""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten

from .errors import CheckpointError
from .quantize import quantize_like_checkpoint


def _names(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    more = f" … and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def expected_shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in tree_flatten(model.parameters())}


def check_weights(model: nn.Module, weights: dict[str, mx.array], where: str) -> None:
    expected = expected_shapes(model)
    missing = expected.keys() - weights.keys()
    if missing:
        raise CheckpointError(f"{where}: missing {len(missing)} weights: {_names(missing)}")
    unexpected = weights.keys() - expected.keys()
    if unexpected:
        raise CheckpointError(f"{where}: {len(unexpected)} unexpected weights: {_names(unexpected)}")
    wrong = [
        f"{k} has shape {list(weights[k].shape)}, expected {list(shape)}"
        for k, shape in expected.items()
        if tuple(weights[k].shape) != shape
    ]
    if wrong:
        more = f" (and {len(wrong) - 3} more)" if len(wrong) > 3 else ""
        raise CheckpointError(f"{where}: shape mismatch: {'; '.join(wrong[:3])}{more}")
    # Integer or bool values where the model computes in floating point would run, as garbage.
    dtypes = {k: v.dtype for k, v in tree_flatten(model.parameters())}
    mistyped = sorted(k for k, dtype in dtypes.items() if _kind(weights[k].dtype) != _kind(dtype))
    if mistyped:
        raise CheckpointError(f"{where}: {len(mistyped)} weights of the wrong type: "
                              f"{mistyped[0]} is {_kind(weights[mistyped[0]].dtype)}, "
                              f"expected {_kind(dtypes[mistyped[0]])}")


def _kind(dtype: mx.Dtype) -> str:
    """Floating-point types are interchangeable (fp16 files load as fp32); others must match."""
    return "floating point" if mx.issubdtype(dtype, mx.floating) else str(dtype).removeprefix("mlx.core.")


def load_weights_strict(model: nn.Module, weights: dict[str, mx.array], where: str) -> None:
    """Load after `check_weights`. Weights stored in half precision (the shipped demos) are
    computed in fp32 like everything else; lower precisions are a choice made after loading.
    Layers stored quantized (a `.scales` key beside the weight) are rebuilt quantized first."""
    quantize_like_checkpoint(model, weights)
    check_weights(model, weights, where)
    weights = {k: v.astype(mx.float32)
               if v.dtype in (mx.float16, mx.bfloat16) and not k.endswith((".scales", ".biases"))
               else v for k, v in weights.items()}
    model.load_weights(list(weights.items()), strict=True)
    model.eval()


def read_safetensors(path: Path) -> dict[str, mx.array]:
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file is missing")
    try:
        return mx.load(str(path))
    except Exception as exc:  # MLX raises plain RuntimeError/ValueError for corrupt files
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None
