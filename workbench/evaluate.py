"""`workbench eval`: error rates and speed of a model on a reference list.

Chinese (and code-switched) references are scored by character error rate over CJK characters
and English words (a "mixed error rate": one unit per character or word); English by word error
rate. Both use the same normalisation: lower case, punctuation removed.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from .corpus.build import load_manifest
from .errors import WorkbenchError
from .segment import transcribe_long
from .text import units


def edits(ref: list[str], hyp: list[str]) -> list[tuple[int, str, str]]:
    """A minimal edit script turning `ref` into `hyp`: (reference position, reference unit, hypothesis
    unit) per edit, "" for the missing side (a deletion has hyp "", an insertion ref "" and the
    position of the reference unit it comes before). Of equally short scripts, substitutions are
    preferred, so a misheard unit shows as one confusion pair rather than a deletion and an insertion."""
    cost = [[0] * (len(hyp) + 1) for _ in range(len(ref) + 1)]
    for i in range(len(ref) + 1):
        for j in range(len(hyp) + 1):
            if i == 0 or j == 0:
                cost[i][j] = i + j
            else:
                cost[i][j] = min(cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]), cost[i - 1][j] + 1,
                                 cost[i][j - 1] + 1)
    out, i, j = [], len(ref), len(hyp)
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            i, j = i - 1, j - 1
            if ref[i] != hyp[j]:
                out.append((i, ref[i], hyp[j]))
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
            out.append((i, ref[i], ""))
        else:
            j -= 1
            out.append((i, "", hyp[j]))
    return out[::-1]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    return len(edits(ref, hyp))


def error_rate(reference: str, hypothesis: str, language: str) -> float:
    """One utterance's CER (Mandarin and code-switched: a unit per character or English word) or
    WER (English), as `evaluate` counts them."""
    ref = units(reference, language)
    return edit_distance(ref, units(hypothesis, language)) / len(ref)


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
    edits: list  # [reference position, reference unit, hypothesis unit] per edit, as `edits` gives them


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
    """Per language: the error rate, and where in the utterance the errors are. An utterance's first
    and last units are the ones a cut too tight clips, and the ones with the least context around
    them (a sentence-initial surname has no word to be part of); "first unit wrong" counts
    utterances whose first unit is substituted or deleted or has text inserted before it, "last
    unit wrong" the same at the end, and the inner rate is the errors elsewhere over the units
    elsewhere."""
    out = {}
    for language, metric in (("zh", "CER"), ("en", "WER")):
        chosen = [r for r in rows if r.language == language]
        if not chosen:
            continue
        out[f"{metric} ({language})"] = sum(r.errors for r in chosen) / max(sum(r.units for r in chosen), 1)
        first = [any(pos == 0 for pos, _, _ in r.edits) for r in chosen if r.units]
        last = [any(pos == r.units - 1 and ref or pos == r.units for pos, ref, _ in r.edits)
                for r in chosen if r.units]
        inner = sum(sum(0 < pos and (pos < r.units - 1 or pos == r.units - 1 and not ref) for pos, ref, _ in r.edits)
                    for r in chosen)
        out[f"edges ({language})"] = {"first unit wrong": sum(first) / max(len(first), 1),
                                      "last unit wrong": sum(last) / max(len(last), 1),
                                      f"inner {metric}": inner / max(sum(max(r.units - 2, 0) for r in chosen), 1)}
    return out


def _confusions(rows: list[Utterance], top: int = 10) -> list[list]:
    """The most frequent edits over all utterances, [reference unit, hypothesis unit, count] ("" for
    the missing side), as sclite's confusion pairs: which units a model mistakes for which."""
    counts = Counter((ref, hyp) for r in rows for _, ref, hyp in r.edits)
    return [[ref, hyp, n] for (ref, hyp), n in counts.most_common(top)]


def evaluate(pipeline, refs: list[dict], limit: int | None = None, segment: bool = False, vad=None,
             **options) -> dict:
    """CER/WER and RTF over `refs`; with `segment`, each recording is cut at pauses first
    (`segment.transcribe_long`, finding speech with `vad` when given), as a recording longer than
    the model's training utterances needs."""
    transcribe = partial(transcribe_long, pipeline, vad=vad) if segment else pipeline.transcribe
    results = []
    for ref in refs[:limit]:
        start = time.perf_counter()
        out = transcribe(ref["file"], **options)
        seconds = time.perf_counter() - start
        ref_units = units(ref["text"], ref["language"])
        script = edits(ref_units, units(out.text, ref["language"]))
        results.append(Utterance(ref["file"], ref["language"], ref["text"], out.text, len(script), len(ref_units),
                                 seconds, out.duration,
                                 {"held_out_voice": ref["held_out_voice"], "tokens": len(out.tokens)},
                                 [list(e) for e in script]))
    summary = {**_rates(results), "confusions": _confusions(results), "utterances": len(results),
               "RTF": sum(r.seconds for r in results) / max(sum(r.audio_seconds for r in results), 1e-9)}
    held = [r for r in results if r.extra["held_out_voice"]]
    if held:
        summary["held-out voice"] = {**_rates(held), "utterances": len(held)}
    return {"summary": summary, "utterances": [asdict(r) for r in results]}
