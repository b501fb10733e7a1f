"""What a transcription returns: text, tokens with times and scores, captured internals, timings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np


@dataclass
class Token:
    id: int
    text: str
    logprob: float
    start: float | None = None  # seconds
    end: float | None = None


@dataclass
class Transcription:
    text: str
    tokens: list[Token]
    duration: float  # seconds of audio
    timings: dict[str, float]  # milliseconds per stage, plus "total"
    captures: dict[str, np.ndarray] = field(default_factory=dict)
    model: str = ""
    extra: dict = field(default_factory=dict)  # model-specific fields (e.g. decoding records)

    def to_dict(self) -> dict:
        """A JSON-ready dict; captured arrays are described by shape and dtype (save them with
        `--save-captures` / numpy to keep the values)."""
        out = asdict(replace(self, captures={}))  # asdict would deep-copy every captured array
        out["captures"] = {
            name: {"shape": list(value.shape), "dtype": str(value.dtype)} for name, value in self.captures.items()
        }
        return out
