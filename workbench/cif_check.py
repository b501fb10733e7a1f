"""Does a Paraformer's CIF count and place tokens right? Two checks on a reference list.

1. Count: CIF emits one token per fire, so the number of emitted tokens should equal the number
   of tokens in the reference as the model's own vocabulary splits it (characters for Chinese,
   `@@` BPE pieces for English; `english_bpe.json` beside `tokens.json` gives the split).
2. Placement: every token's [start, end] must lie inside the spoken span of the clip, the span
   from the first to the last stretch of speech found by the energy detector (`segment.py`, which
   already pads each stretch by 0.15 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .audio import load_audio
from .errors import WorkbenchError
from .loading import resolve_model_path
from .segment import speech_segments

SLACK_S = 0.06  # one LFR frame: token times are quantised to 60 ms frames


def reference_tokenizer(model: str | Path):
    """The training vocabulary of a model directory, used to split reference texts into tokens."""
    from .train.vocab import ParaformerVocab

    directory = resolve_model_path(model)
    if not (directory / "english_bpe.json").is_file():
        raise WorkbenchError(f"{directory}: no english_bpe.json, so English references cannot be split into the "
                             "model's tokens")
    return ParaformerVocab.load(directory)


def cif_check(pipeline, refs: list[dict], vocab, limit: int | None = None) -> dict:
    if pipeline.kind != "paraformer":
        raise WorkbenchError("the CIF check needs a Paraformer model")
    rows = []
    for ref in refs[:limit]:
        waveform = load_audio(ref["file"])
        result = pipeline.transcribe(waveform, sample_rate=16000)
        spans = speech_segments(waveform)
        lo, hi = (spans[0][0], spans[-1][1]) if spans else (0.0, 0.0)
        inside = [lo - SLACK_S <= t.start and t.end <= hi + SLACK_S for t in result.tokens]
        rows.append({"file": ref["file"], "language": ref["language"],
                     "reference_tokens": len(vocab.encode(ref["text"])),
                     "emitted_tokens": len(result.tokens), "tokens_inside_span": int(sum(inside)),
                     "speech_span": [round(lo, 3), round(hi, 3)]})
    exact = [r["emitted_tokens"] == r["reference_tokens"] for r in rows]
    summary = {
        "utterances": len(rows),
        "exact_count": float(np.mean(exact)) if rows else 0.0,
        "mean_abs_count_error": float(np.mean([abs(r["emitted_tokens"] - r["reference_tokens"]) for r in rows]))
        if rows else 0.0,
        "tokens_inside_span": sum(r["tokens_inside_span"] for r in rows)
        / max(sum(r["emitted_tokens"] for r in rows), 1),
    }
    for language in ("zh", "en"):
        chosen = [e for e, r in zip(exact, rows) if r["language"] == language]
        if chosen:
            summary[f"exact_count ({language})"] = float(np.mean(chosen))
    return {"summary": summary, "utterances": rows}
