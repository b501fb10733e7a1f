"""Loaded models, shared by every session.

A set-up is a model (a bundled name or a directory) at a precision; each distinct set-up is its
own loaded copy, because quantizing rewrites the weights in place. A copy runs one forward pass
at a time (the pipeline's own lock), and only the most recently used few stay loaded, so
comparing many levels cannot grow memory without bound: a request that still uses an evicted
copy keeps it alive.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ..fsmn_vad import PACKAGED, FsmnVad
from ..loading import BUNDLED_DIR, load
from ..quantize import LEVELS, apply_levels, parameter_bytes, parse_levels

AS_STORED = "as stored"
PRECISIONS = [AS_STORED, *LEVELS]
DEFAULT_MODEL = "paraformer-demo"  # the established demo: timestamps, CIF plots, a Mandarin clip set
MAX_LOADED = 6


@dataclass
class Loaded:
    pipeline: object
    weight_bytes: int


_loaded: OrderedDict[tuple[str, str], Loaded] = OrderedDict()
_loading = threading.Lock()


def bundled_models() -> list[str]:
    """Bundled model names, the default demo first."""
    names = (sorted(p.name for p in BUNDLED_DIR.iterdir() if (p / "config.json").is_file())
             if BUNDLED_DIR.is_dir() else [])
    return sorted(names, key=lambda name: name != DEFAULT_MODEL)


def get(model: str, precision: str = AS_STORED) -> Loaded:
    """The shared copy of `model` at `precision` (a level such as "8bit", or per component,
    "encoder=8bit,decoder=4bit"), loaded on first use."""
    key = (model, precision)
    with _loading:
        if key not in _loaded:
            pipeline = load(model)
            if precision != AS_STORED:
                apply_levels(pipeline.model, pipeline.kind, parse_levels(precision, pipeline.kind))
            _loaded[key] = Loaded(pipeline, parameter_bytes(pipeline.model))
            while len(_loaded) > MAX_LOADED:
                _loaded.popitem(last=False)
        _loaded.move_to_end(key)
        return _loaded[key]


@functools.cache
def fsmn_vad() -> FsmnVad:
    """The pip-installed FSMN-VAD, loaded once for every session (a failed load is not cached, so
    installing the package while the app runs is enough)."""
    return FsmnVad.load(PACKAGED)
