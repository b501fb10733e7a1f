"""Reading config dataclasses from dicts that use upstream field names.

Unknown keys (dropout rates, training-only options) are ignored; known keys are type-checked
and bounded so that an absurd config is refused before any memory is allocated for it.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from .errors import CheckpointError

T = TypeVar("T")

# Far above any real model (paraformer-large: 512 wide, 50 layers, 8404 tokens; Qwen3: 151936
# tokens) but small enough that a hostile config cannot ask for terabytes.
MAX_INT = {"vocab_size": 1_000_000, "num_blocks": 512, "tp_blocks": 512, "num_hidden_layers": 512}
DEFAULT_MAX_INT = 65_536


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
            if ok and not 0 <= value <= MAX_INT.get(field.name, DEFAULT_MAX_INT):
                raise CheckpointError(f"{where}.{field.name} = {value} is out of range")
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, type(default)) if default is not None else True
        if not ok:
            raise CheckpointError(f"{where}.{field.name} has the wrong type: {value!r}")
        kwargs[field.name] = value
    return cls(**kwargs)


def to_dict(obj) -> dict:
    return dataclasses.asdict(obj)
