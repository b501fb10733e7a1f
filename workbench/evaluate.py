"""`workbench eval`: error rates and speed of a model on a reference list.

Chinese (and code-switched) references are scored by character error rate over CJK characters
and English words (a "mixed error rate": one unit per character or word); English by word error
rate. Both use the same normalisation: lower case, punctuation removed.
"""

from __future__ import annotations

import csv
import re
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from .corpus.build import load_manifest
from .errors import WorkbenchError
from .segment import transcribe_long
from .text import split_words

PUNCT = re.compile(r"[^\w\s']|_", re.UNICODE)


def units(text: str, language: str) -> list[str]:
    text = PUNCT.sub(" ", text).lower()
    return split_words(text) if language == "zh" else text.split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


@dataclass
class Utterance:
    file: str
    language: str
    reference: str
    hypothesis: str
    errors: int
    units: int
    seconds: float
    audio_seconds: float
    extra: dict


def read_references(path: Path) -> list[dict]:
    """Rows {file, language, text, held_out_voice} from a TSV (file, language, text) or a corpus
    JSONL manifest (whose `audio`, `held_out_voice` fields are used, and `word_starts`, kept for
    `eval --cif`). Paths are relative to the file."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such reference file")
    if path.suffix == ".jsonl":
        out = [{"file": r["audio"], "language": r["language"], "text": r["text"],
                "held_out_voice": bool(r.get("held_out_voice")), "word_starts": r.get("word_starts")}
               for r in load_manifest(path)]
    else:
        with path.open(encoding="utf-8", newline="") as f:
            rows = [row for row in csv.reader(f, delimiter="\t") if row and not row[0].startswith("#")]
        if rows and rows[0][0] == "file":
            rows = rows[1:]
        if any(len(row) < 3 for row in rows):
            raise WorkbenchError(f"{path}: every line needs file, language and text separated by tabs")
        out = [{"file": r[0], "language": r[1], "text": r[2], "held_out_voice": False} for r in rows]
    for row in out:
        row["file"] = str(path.parent / row["file"])
    return out


def _rates(rows: list[Utterance]) -> dict:
    out = {}
    for language, metric in (("zh", "CER"), ("en", "WER")):
        chosen = [r for r in rows if r.language == language]
        if chosen:
            out[f"{metric} ({language})"] = sum(r.errors for r in chosen) / max(sum(r.units for r in chosen), 1)
    return out


def evaluate(pipeline, refs: list[dict], limit: int | None = None, segment: bool = False, **options) -> dict:
    """CER/WER and RTF over `refs`; with `segment`, each recording is cut at pauses first
    (`segment.transcribe_long`), as a recording longer than the model's training utterances needs."""
    transcribe = partial(transcribe_long, pipeline) if segment else pipeline.transcribe
    results = []
    for ref in refs[:limit]:
        start = time.perf_counter()
        out = transcribe(ref["file"], **options)
        seconds = time.perf_counter() - start
        ref_units, hyp_units = units(ref["text"], ref["language"]), units(out.text, ref["language"])
        results.append(Utterance(ref["file"], ref["language"], ref["text"], out.text,
                                 edit_distance(ref_units, hyp_units), len(ref_units), seconds, out.duration,
                                 {"held_out_voice": ref["held_out_voice"], "tokens": len(out.tokens)}))
    summary = {**_rates(results), "utterances": len(results),
               "RTF": sum(r.seconds for r in results) / max(sum(r.audio_seconds for r in results), 1e-9)}
    held = [r for r in results if r.extra["held_out_voice"]]
    if held:
        summary["held-out voice"] = {**_rates(held), "utterances": len(held)}
    return {"summary": summary, "utterances": [asdict(r) for r in results]}
