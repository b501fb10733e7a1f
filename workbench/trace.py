"""The capture API: ask a run for its internals by flat, stable names.

A caller passes patterns such as ``"encoder.layers.3.attn"``, ``"encoder.layers.*.attn"`` or
``"predictor.*"`` (shell-style wildcards, matched against the full name). Every model lists the
concrete names it can produce (`capture_names`), so a pattern that matches nothing is an error
rather than a silently empty result. Model code asks ``trace.wants(name)`` before doing any
extra work, which is what keeps the default path fused: with nothing requested, attention runs
through ``mx.fast.scaled_dot_product_attention`` and no probabilities are ever materialised.

Values are stored as given (batched MLX arrays) and turned into numpy only when the caller
collects them, so capturing adds no host synchronisation inside the forward pass.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

import mlx.core as mx
import numpy as np

from .errors import CaptureError


class Trace:
    """Collects the internals whose names match any of `patterns` during one forward pass."""

    def __init__(self, patterns: Iterable[str] = (), available: Iterable[str] | None = None):
        self.patterns = tuple(patterns)
        if available is not None:
            names = list(available)
            for pattern in self.patterns:
                if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                    raise CaptureError(
                        f"capture name {pattern!r} matches nothing this model produces; "
                        f"available: {summarize_names(names)}"
                    )
        self._decisions: dict[str, bool] = {}
        self.values: dict[str, mx.array | np.ndarray] = {}

    def wants(self, name: str) -> bool:
        decision = self._decisions.get(name)
        if decision is None:
            decision = any(fnmatch.fnmatchcase(name, p) for p in self.patterns)
            self._decisions[name] = decision
        return decision

    def put(self, name: str, value) -> None:
        if self.wants(name):
            self.values[name] = value

    def collect(self, index: int = 0) -> dict[str, np.ndarray]:
        """The captured values of batch item `index`, as numpy arrays, in capture order.

        Model code stores every value with a leading batch axis; numpy and list values that
        describe a single item (host-side results such as fire positions) are stored as lists
        with one entry per batch item.
        """
        out = {}
        for name, value in self.values.items():
            item = value[index]
            if isinstance(item, mx.array):
                if item.dtype == mx.bfloat16:
                    item = item.astype(mx.float32)
                item = np.array(item)
            out[name] = np.asarray(item)
        return out


def summarize_names(names: Iterable[str]) -> str:
    """Collapse layer indices so a 50-layer model's name list stays readable in an error line."""
    seen: list[str] = []
    for name in names:
        generic = ".".join("{i}" if part.isdigit() else part for part in name.split("."))
        if generic not in seen:
            seen.append(generic)
    return ", ".join(seen)


NO_TRACE = Trace()
