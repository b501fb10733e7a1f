"""Reading config dataclasses from dicts that use upstream field names.

Unknown keys (dropout rates, training-only options) are ignored; known keys are type-checked
and bounded so that an absurd config is refused before any memory is allocated for it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TypeVar

from .errors import CheckpointError

T = TypeVar("T")

# Far above any real model (paraformer-large: 512 wide, 50 layers, 8404 tokens; Qwen3: 151936
# tokens) but small enough that a hostile config cannot ask for terabytes.
MAX_INT = {"vocab_size": 1_000_000, "num_blocks": 512, "tp_blocks": 512, "num_hidden_layers": 512}
DEFAULT_MAX_INT = 65_536
# Sizes, counts, orders and steps are at least 1 (a zero becomes a division by zero or a model
# without a layer further on); only these may be zero.
MIN_INT = {"tp_blocks": 0, "sanm_shfit": 0, "l_order": 0, "r_order": 0, "n_layer": 0, "rorder": 0, "rstride": 0}


def from_dict(cls: type[T], values: dict | None, where: str) -> T:
    if values is None:
        return cls()
    if not isinstance(values, dict):
        raise CheckpointError(f"{where}: expected a mapping, got {type(values).__name__}")
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in values:
            continue
        value = values[field.name]
        default = field.default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
            low, high = MIN_INT.get(field.name, 1), MAX_INT.get(field.name, DEFAULT_MAX_INT)
            if ok and not low <= value <= high:
                raise CheckpointError(f"{where}.{field.name} = {value} is out of range [{low}, {high}]")
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
            if ok and not math.isfinite(value):  # JSON and YAML both allow NaN and Infinity
                raise CheckpointError(f"{where}.{field.name} = {value} is not a finite number")
        else:
            ok = isinstance(value, type(default)) if default is not None else True
        if not ok:
            raise CheckpointError(f"{where}.{field.name} has the wrong type: {value!r}")
        kwargs[field.name] = value
    return cls(**kwargs)


def to_dict(obj) -> dict:
    return dataclasses.asdict(obj)
