"""Does a Paraformer's CIF count and place tokens right? Two checks on a reference list.

1. Count: CIF emits one token per fire, so the number of emitted tokens should equal the number
   of tokens in the reference as the model's own vocabulary splits it (characters for Chinese,
   `@@` pieces for English; `english_bpe.json` or `english_syllables.json` beside `tokens.json`
   gives the split).
2. Placement: every token's [start, end] must lie inside the spoken span of the clip, the span
   from the first to the last stretch of speech found by the energy detector (`segment.py`, which
   already pads each stretch by 0.15 s).
3. Word placement, where the reference gives the synthesiser's own word starts (`word_starts` of
   a corpus manifest's English rows) and the count is exact, so that each token's word is known:
   a token must start between its word's start and the next word's (`word_windows`).
4. Weight per word, with the same word starts and whatever the count: the predictor's weight over
   each word's frames, per token of the word, in groups of word duration (`word_weights`). A
   predictor that counts words gives every group about 1; one that measures time gives short
   words too little and long words too much, and its counts then follow the speaking rate.

Per language the count error is also broken down by speaking rate (reference tokens per second
of the spoken span, in equal-sized groups): a predictor that leans on duration over-counts slow
speech and under-counts fast speech, which the overall exact rate does not show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .audio import load_audio
from .corpus.sentences import is_code_switched
from .errors import WorkbenchError
from .loading import resolve_model_path
from .segment import speech_segments

SLACK_S = 0.06  # one LFR frame: token times are quantised to 60 ms frames


def reference_tokenizer(model: str | Path):
    """The training vocabulary of a model directory, used to split reference texts into tokens."""
    from .train.vocab import ParaformerVocab

    directory = resolve_model_path(model)
    if ParaformerVocab.english_file(directory) is None:
        raise WorkbenchError(f"{directory}: no english_bpe.json or english_syllables.json, so English references "
                             "cannot be split into the model's tokens")
    return ParaformerVocab.load(directory)


def cif_check(pipeline, refs: list[dict], vocab, limit: int | None = None, **options) -> dict:
    if pipeline.kind != "paraformer":
        raise WorkbenchError("the CIF check needs a Paraformer model")
    rows = []
    for ref in refs[:limit]:
        waveform = load_audio(ref["file"])
        timed = bool(ref.get("word_starts"))
        if timed and len(ref["word_starts"]) != len(ref["text"].split()):
            # Both word checks pair each word with its start; a list of another length would pair
            # them wrongly (or short) without saying so.
            raise WorkbenchError(f"{ref['file']}: {len(ref['word_starts'])} word starts for "
                                 f"{len(ref['text'].split())} words")
        result = pipeline.transcribe(waveform, sample_rate=16000, **options,
                                     **({"capture": ["predictor.alphas"]} if timed else {}))
        spans = speech_segments(waveform)
        lo, hi = (spans[0][0], spans[-1][1]) if spans else (0.0, 0.0)
        inside = [lo - SLACK_S <= t.start and t.end <= hi + SLACK_S for t in result.tokens]
        row = {"file": ref["file"], "language": ref["language"], "code_switched": is_code_switched(ref["text"]),
               "reference_tokens": len(vocab.encode(ref["text"])),
               "emitted_tokens": len(result.tokens), "tokens_inside_span": int(sum(inside)),
               "speech_span": [round(lo, 3), round(hi, 3)]}
        if timed:
            row["word_weights"] = word_weights(result.captures["predictor.alphas"], ref["text"], ref["word_starts"],
                                               vocab, pipeline.config.frontend_conf)
            # Only with the exact count is the k-th token the k-th reference token, and so of a known word.
            if row["emitted_tokens"] == row["reference_tokens"]:
                row["tokens_in_word"] = tokens_in_word(result.tokens, ref["text"], ref["word_starts"], vocab, hi)
                row["timed_tokens"] = len(result.tokens)
        rows.append(row)
    summary = {"utterances": len(rows), **_rates(rows)}
    if any(ref.get("word_starts") for ref in refs[:limit]):
        summary.update(_word_rate(rows))
        summary["weight_by_word_duration (synthesiser timings)"] = weight_by_duration(rows)
    # Mandarin sentences with English words in them are also counted apart: a predictor miscounts
    # the English words far more often than the characters, and pooled with the rest they hide
    # how well plain Mandarin does.
    groups = {"zh": lambda r: r["language"] == "zh", "en": lambda r: r["language"] == "en",
              "zh without English": lambda r: r["language"] == "zh" and not r["code_switched"],
              "zh with English": lambda r: r["language"] == "zh" and r["code_switched"]}
    for group, member in groups.items():
        chosen = [r for r in rows if member(r)]
        if chosen:
            summary.update({f"{key} ({group})": value for key, value in _rates(chosen).items()})
        if group in ("zh", "en") and (by_rate := count_by_rate(chosen)):
            summary[f"count_by_rate ({group})"] = by_rate
    return {"summary": summary, "utterances": rows}


def word_windows(word_starts: list[float | None], end: float) -> list[tuple[float, float]]:
    """Each word's window [low, high) for its tokens' start times: from its start to the next known
    start, or to `end` (the end of the spoken span) for the last, widened by SLACK_S on both sides.
    A word the synthesiser gave no start for shares the window of the word before it (from 0 when
    no word before it has a start): where it starts is only known to lie between the two."""
    lows, last = [], 0.0
    for start in word_starts:
        last = last if start is None else start
        lows.append(last)
    highs, following = [], end
    for start in reversed(word_starts):
        highs.append(following)
        following = following if start is None else start
    return [(low - SLACK_S, high + SLACK_S) for low, high in zip(lows, reversed(highs))]


def tokens_in_word(tokens, text: str, word_starts: list[float | None], vocab, end: float) -> int:
    """How many of `tokens` (one per reference token of `text`, in order) start inside their word's
    window. Words are `text`'s whitespace words, one per entry of `word_starts`; a word's tokens
    are consecutive, as many as the vocabulary splits it into."""
    windows = [window for word, window in zip(text.split(), word_windows(word_starts, end), strict=True)
               for _ in vocab.encode(word)]
    return sum(low <= t.start < high for t, (low, high) in zip(tokens, windows, strict=True))


def word_weights(alphas: np.ndarray, text: str, word_starts: list[float | None], vocab, conf) -> list[list]:
    """[duration, weight, tokens] of each word of `text` whose start and the next word's start the
    synthesiser gave: seconds between the two starts, the sum of `alphas` (one per LFR frame of the
    frontend `conf`) over the frames between them, and how many tokens the vocabulary splits the
    word into. The last word, whose end is not a word start, is left out."""
    words = text.split()
    out = []
    for word, start, following in zip(words, word_starts, word_starts[1:]):
        if start is not None and following is not None:
            weight = float(np.sum(alphas[conf.frames_before(start):conf.frames_before(following)]))
            out.append([round(following - start, 3), round(weight, 4), len(vocab.encode(word))])
    return out


def weight_by_duration(rows: list[dict], groups: int = 5) -> list[dict]:
    """The `word_weights` of all `rows` in `groups` equal-sized groups of word duration, shortest
    first: each group's range of seconds, its number of words and its weight per token (the
    group's summed weight over its summed tokens). Empty if fewer words than groups."""
    words = np.array([w for r in rows for w in r.get("word_weights", [])], dtype=np.float64).reshape(-1, 3)
    if len(words) < groups:
        return []
    out = []
    for part in np.array_split(np.argsort(words[:, 0], kind="stable"), groups):
        duration, weight, tokens = words[part].T
        out.append({"seconds": [round(float(duration.min()), 3), round(float(duration.max()), 3)],
                    "words": len(part), "weight_per_token": float(weight.sum() / tokens.sum())})
    return out


def count_by_rate(rows: list[dict], groups: int = 4) -> list[dict]:
    """The count error of `rows` in `groups` equal-sized groups of speaking rate, slowest first:
    each group's range of reference tokens per second of spoken span, its mean signed count error
    (emitted − reference) and its shares of exact, over- and under-counted utterances. Rows
    without speech are left out; empty if fewer rows than groups remain."""
    timed = [r for r in rows if r["speech_span"][1] > r["speech_span"][0]]
    if len(timed) < groups:
        return []
    rate = np.array([r["reference_tokens"] / (r["speech_span"][1] - r["speech_span"][0]) for r in timed])
    error = np.array([r["emitted_tokens"] - r["reference_tokens"] for r in timed])
    out = []
    for part in np.array_split(np.argsort(rate, kind="stable"), groups):
        e = error[part]
        out.append({"tokens_per_second": [round(float(rate[part].min()), 2), round(float(rate[part].max()), 2)],
                    "utterances": len(part), "mean_count_error": float(e.mean()),
                    "exact_count": float(np.mean(e == 0)), "over": float(np.mean(e > 0)),
                    "under": float(np.mean(e < 0))})
    return out


def _rates(rows: list[dict]) -> dict:
    """Exact counts and placement over `rows`: the share of utterances with exactly the reference
    number of tokens, the mean count error, the share of tokens inside the spoken span, and the
    share of utterances with every token inside it."""
    if not rows:
        return {"exact_count": 0.0, "mean_abs_count_error": 0.0, "tokens_inside_span": 0.0, "all_tokens_inside": 0.0}
    return {
        "exact_count": float(np.mean([r["emitted_tokens"] == r["reference_tokens"] for r in rows])),
        "mean_abs_count_error": float(np.mean([abs(r["emitted_tokens"] - r["reference_tokens"]) for r in rows])),
        "tokens_inside_span": sum(r["tokens_inside_span"] for r in rows)
        / max(sum(r["emitted_tokens"] for r in rows), 1),
        "all_tokens_inside": float(np.mean([r["tokens_inside_span"] == r["emitted_tokens"] for r in rows])),
    }


def _word_rate(rows: list[dict]) -> dict:
    """The share of the word-checked tokens that start inside their word, and over how many
    utterances (those with word starts and the exact count); null when there were none."""
    timed = [r for r in rows if "timed_tokens" in r]
    checked, inside = sum(r["timed_tokens"] for r in timed), sum(r["tokens_in_word"] for r in timed)
    return {"tokens_in_word (synthesiser timings)": inside / checked if checked else None,
            "utterances (synthesiser timings)": len(timed)}
