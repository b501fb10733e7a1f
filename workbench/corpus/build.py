"""Build a synthetic Mandarin/English speech corpus: FLAC files plus train/test JSONL manifests.

    python -m workbench.corpus.build OUT --zh 20000 --en 20000 --test-zh 500 --test-en 500 \\
        --seed 0 --workers 16 [--skip-train K] [--focus KIND=N ...] [--zh-pitch-range RANGE [--zh-pitch-share F]] \\
        [--train-seed S] [--focus-voices V,V ...] [--piper-test N] [--piper-share F] [--max-lead-silence S] \\
        [--espeak PATH --espeak-data PATH]

Layout: OUT/audio/<id>.flac (16 kHz mono, 16-bit FLAC), OUT/train.jsonl, OUT/test.jsonl. Each
manifest line: id, audio (path relative to OUT), text, language ("zh"/"en"), voice,
held_out_voice, duration (seconds), synth (prosody and augmentation parameters) and, for
English, word_starts: the second each whitespace word starts at, from libespeak-ng's word events
(`word_timing.py`; null for a word without one, the whole field null when the timings are not
trusted).

Guarantees:
* train and test never share a sentence (`split_sentences`), and the test sentences do not
  change when the training counts do; training sentences start past the stream's first
  `sentences.TEST_RESERVE` (600) even with a smaller test split, so a training-only build never
  holds a test sentence of the standard 600-sentence split;
* training utterances never use a held-out voice; every `HELD_OUT_EVERY`-th test utterance per
  language (20%, starting with the second) uses it, the rest use training voices;
* each utterance's audio depends only on (seed, id), so the corpus is the same for any --workers;
* `--skip-train K` leaves out the first K training sentences of each language (the ones an earlier
  run was trained on) and builds the next ones, with the ids and audio a full build gives them;
* `--train-seed S` draws the training sentences (and their voices and prosody) from seed S's stream
  instead, none of them a sentence of --seed's test split or its reserve: new sentences of every
  kind for a continued run, where a far --skip-train has used up the templates with few fillings;
* `--focus KIND=N` adds N Mandarin training utterances of a kind the demo models still get wrong
  (`sentences.FOCUS_KINDS`: `name-first`, `code-switched`, `tone-pair`, `tone-drill`), ids zh-train-KIND-NNNNNN,
  drawn from the stream past every test and training sentence of the build, so they repeat none of
  them (nor each other); `tone-pair=N` speaks each of its N sentences a second time with the
  opening surname's tone-only partner (何 ↔ 贺, `sentences.tone_partner`), id ...-partner, in the
  same voice, prosody and augmentation, a partner never being a sentence of the build or the stream
  before it; `tone-drill=N` adds N strings of random syllables whose tones alone tell their
  characters (`tone_drill.py`);
* `--focus-voices V,V` speaks the focus utterances in these Mandarin training voices only (each
  drawn by the utterance's seed, as without the option), the rest of the corpus in all of them: to
  teach one voice group's tones at a time, without losing the others' words;
* `--zh-pitch-range RANGE` speaks every Mandarin utterance (test split too) inside espeak's SSML
  `<prosody range>` (`synth.PITCH_RANGES`), for wider tone contours; manifests record it;
  `--zh-pitch-share F` gives the range to a seeded share F of them instead (the rest are spoken as
  without the option), so that a model learns the wider contours without unlearning the default ones;
* `--piper-test N` also speaks the first N English test sentences with Piper's neural voice
  (`piper_voice.py`) into OUT/piper_test.jsonl, ids en-piper-NNNNNN; test.jsonl stays as it is;
* `--piper-share F` gives Piper's voice to a seeded share F of the English training utterances
  (drawn apart from the espeak voice choice, so the others keep theirs); Piper's test set is then
  no longer a held-out voice, and its rows say so;
* `--max-lead-silence S` draws the silence before each augmented utterance (test split too) from
  0.05 s to S instead of 0.4 s (`synth.MAX_LEAD_S`): to train models that hear speech starting
  later, and to measure how they do.

The printed summary's `unseen_test_units` gives, per language, the test units (characters, words)
that no training sentence has; the build warns when they are over 1 % of the test split's units.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from ..errors import WorkbenchError
from ..text import units
from .sentences import (
    FOCUS_KINDS,
    focus_stream,
    sentences,
    split_sentences,
    tone_partner,
    train_start,
)
from .synth import (
    MAX_LEAD_S,
    PIPER_VOICE,
    PITCH_RANGES,
    SAMPLE_RATE,
    Espeak,
    Voice,
    pick_voice,
    synthesize,
    utterance_seed,
    voice_by_name,
    zh_training_voices,
)
from .word_timing import WordTimer

HELD_OUT_EVERY = 5
# Above this share of the test split's units missing from every training sentence, the build warns:
# a model cannot learn them, and the test scores it on them. A full build misses about 0.1 %
# (rare names and ordinals); one that skips 40,000 sentences per language misses 1.3 % of the
# Mandarin and 3.7 % of the English units, because the stream never repeats a sentence and the
# templates with few fillings ("should", "percent", 销售) are used up early in it.
UNSEEN_WARN_SHARE = 0.01
# The longest lead `--max-lead-silence` takes: enough to teach a model long pauses, short enough
# that a typo (150 for 1.5) is refused rather than filling the disk with silence.
LEAD_SILENCE_CAP_S = 10.0


@dataclass(frozen=True)
class Job:
    id: str
    split: str
    language: str
    text: str
    voice: str
    held_out: bool
    seed: int
    pitch_range: str | None = None
    max_lead_s: float = MAX_LEAD_S


def plan(zh: int, en: int, test_zh: int, test_en: int, seed: int, skip_train: int = 0,
         piper_test: int = 0, piper_share: float = 0.0, focus: dict[str, int] | None = None,
         zh_pitch_range: str | None = None, max_lead_s: float = MAX_LEAD_S,
         zh_pitch_share: float = 1.0, focus_voices: tuple[str, ...] | None = None,
         train_seed: int | None = None) -> list[Job]:
    """Every utterance of the corpus, with its sentence, voice and seed, before any synthesis."""
    if not 0.0 <= piper_share <= 1.0:
        raise ValueError(f"--piper-share is a share of the English training utterances, 0 to 1, not {piper_share}")
    if not 0.0 <= zh_pitch_share <= 1.0:
        raise ValueError(f"--zh-pitch-share is a share of the Mandarin utterances, 0 to 1, not {zh_pitch_share}")
    if zh_pitch_share != 1.0 and zh_pitch_range is None:
        raise ValueError("--zh-pitch-share needs --zh-pitch-range: it says how many utterances get that range")
    # A negative skip would reach back into the test sentences, which come first in the stream.
    counts = {"--zh": zh, "--en": en, "--test-zh": test_zh, "--test-en": test_en, "--skip-train": skip_train,
              "--piper-test": piper_test, **{f"--focus {kind}": n for kind, n in (focus or {}).items()}}
    negative = [f"{flag} {n}" for flag, n in counts.items() if n < 0]
    if negative:
        raise ValueError(f"counts cannot be negative: {', '.join(negative)}")
    if not 0.05 <= max_lead_s <= LEAD_SILENCE_CAP_S:
        raise ValueError(f"--max-lead-silence is the longest silence before the speech, 0.05 to "
                         f"{LEAD_SILENCE_CAP_S:g} seconds, not {max_lead_s}")
    if zh_pitch_range is not None and zh_pitch_range not in PITCH_RANGES:
        raise ValueError(f"--zh-pitch-range {zh_pitch_range} is not one of {', '.join(PITCH_RANGES)}")

    def mandarin_range(useed: int) -> str | None:
        # Drawn apart from the voice and prosody, so the other utterances sound as without the option.
        return zh_pitch_range if random.Random(f"pitch-range:{useed}").random() < zh_pitch_share else None

    unknown = sorted(set(focus or {}) - set(FOCUS_KINDS))
    if unknown:
        raise ValueError(f"unknown --focus kind {', '.join(unknown)}: one of {', '.join(FOCUS_KINDS)}")
    focus_pool = _focus_voice_pool(focus_voices, focus)
    jobs: list[Job] = []
    for language, n_train, n_test in (("zh", zh, test_zh), ("en", en, test_en)):
        train, test = split_sentences(language, skip_train + n_train if n_train else 0, n_test, seed, train_seed)
        # Another stream's sentences get their own voices and prosody too, not those that the same
        # ids had in the earlier corpus.
        train_voices = seed if train_seed is None else train_seed
        for split, texts, first, voices in (("train", train[skip_train:], skip_train, train_voices),
                                            ("test", test, 0, seed)):
            for i, text in enumerate(texts, start=first):
                uid = f"{language}-{split}-{i:06d}"
                held_out = split == "test" and i % HELD_OUT_EVERY == 1
                useed = utterance_seed(voices, uid)
                voice = pick_voice(language, useed, held_out=held_out)
                if split == "train" and language == "en" and random.Random(f"piper:{useed}").random() < piper_share:
                    voice = PIPER_VOICE
                jobs.append(Job(uid, split, language, text, voice.name, held_out, useed,
                                mandarin_range(useed) if language == "zh" else None, max_lead_s))
    # Focus sentences lie past every test and training sentence of the stream, so they can only
    # repeat one another: a sentence of two kinds is spoken once, under the first kind asked for.
    # (With --train-seed the training sentences come from another stream, so the focus ones are
    # also kept apart from them here.)
    taken = {job.text for job in jobs if job.split == "train" and job.language == "zh"}
    before = train_start(test_zh) + skip_train + zh
    # A tone pair's partner is a new sentence: it must not be one the stream has before the focus
    # sentences (a test sentence, a sample clip's). The others lie past them all.
    earlier = set(sentences("zh", before, seed)) if (focus or {}).get("tone-pair") else set()
    for kind, n in (focus or {}).items():
        texts: list[str] = []
        for text in focus_stream(kind, before, seed) if n else ():
            said = {text, tone_partner(text)} if kind == "tone-pair" else {text}
            if said.isdisjoint(taken) and said.isdisjoint(earlier):
                texts.append(text)
                taken |= said
                if len(texts) == n:
                    break
        for i, text in enumerate(texts):
            uid = f"zh-train-{kind}-{i:06d}"
            useed = utterance_seed(seed, uid)
            voice = pick_voice("zh", useed, among=focus_pool).name
            jobs.append(Job(uid, "train", "zh", text, voice, False, useed, mandarin_range(useed), max_lead_s))
            if kind == "tone-pair":  # the same voice, prosody and augmentation: only the surname's tone differs
                jobs.append(Job(f"{uid}-partner", "train", "zh", tone_partner(text), voice, False, useed,
                                mandarin_range(useed), max_lead_s))
    if piper_test:
        _, piper_texts = split_sentences("en", 0, piper_test, seed)
        for i, text in enumerate(piper_texts):
            uid = f"en-piper-{i:06d}"
            jobs.append(Job(uid, "piper", "en", text, PIPER_VOICE.name, piper_share == 0, utterance_seed(seed, uid),
                            max_lead_s=max_lead_s))
    return jobs


def _focus_voice_pool(names: tuple[str, ...] | None, focus: dict[str, int] | None) -> tuple[Voice, ...] | None:
    if names is None:
        return None
    if not any((focus or {}).values()):
        raise ValueError("--focus-voices needs --focus: it says who speaks the focus utterances")
    return zh_training_voices(names, "--focus-voices")


def unseen_test_units(jobs: list[Job]) -> dict[str, dict]:
    """Per language with both training and test utterances: the test split's units (characters and
    words, as errors are counted) that no training sentence of that language has: how many
    distinct ones, their share of the test split's units, and the most frequent of them."""
    report = {}
    for language in ("zh", "en"):
        trained: set[str] = set()
        tested: Counter[str] = Counter()
        for job in jobs:
            if job.language == language and job.split in ("train", "test"):
                (trained.update if job.split == "train" else tested.update)(units(job.text, language))
        if not trained or not tested:
            continue
        unseen = Counter({unit: n for unit, n in tested.items() if unit not in trained})
        report[language] = {"units": len(unseen), "share": round(unseen.total() / tested.total(), 4),
                            "most_frequent": [unit for unit, _ in unseen.most_common(8)]}
    return report


# Worker state: set once per process by the pool initialiser, so jobs stay small to send.
_ESPEAK: Espeak | None = None
_TIMER: WordTimer | None = None
_PIPER = None  # piper_voice.PiperSpeaker, loaded by the first Piper job of the worker
_OUT: Path | None = None


def _init_worker(espeak: Espeak, out: Path) -> None:
    global _ESPEAK, _TIMER, _OUT
    _ESPEAK, _TIMER, _OUT = espeak, WordTimer(espeak), out


def _piper():
    global _PIPER
    if _PIPER is None:
        from .piper_voice import PiperSpeaker

        _PIPER = PiperSpeaker()
    return _PIPER


def _run_job(job: Job) -> dict:
    assert _ESPEAK is not None and _OUT is not None
    piper = _piper() if job.voice == PIPER_VOICE.name else None
    utt = synthesize(job.text, job.language, job.seed, _ESPEAK, voice=voice_by_name(job.voice), timer=_TIMER,
                     piper=piper, pitch_range=job.pitch_range, max_lead_s=job.max_lead_s)
    rel = f"audio/{job.id}.flac"
    sf.write(_OUT / rel, utt.audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    row = {
        "id": job.id, "audio": rel, "text": job.text, "language": job.language, "voice": job.voice,
        "held_out_voice": job.held_out, "duration": round(utt.duration, 4), "synth": utt.params,
    }
    if job.language == "en":
        row["word_starts"] = utt.word_starts
    return row


def build_corpus(out: str | Path, *, zh: int, en: int, test_zh: int, test_en: int, seed: int = 0,
                 skip_train: int = 0, piper_test: int = 0, piper_share: float = 0.0,
                 focus: dict[str, int] | None = None, zh_pitch_range: str | None = None,
                 zh_pitch_share: float = 1.0, max_lead_s: float = MAX_LEAD_S,
                 focus_voices: tuple[str, ...] | None = None, train_seed: int | None = None, workers: int = 1,
                 espeak: Espeak | None = None, progress: bool = False) -> dict:
    """Synthesise the corpus into `out` and return a summary (counts, hours, seconds taken)."""
    out = Path(out)
    espeak = espeak or Espeak.locate()
    espeak.check()
    jobs = plan(zh, en, test_zh, test_en, seed, skip_train, piper_test, piper_share, focus, zh_pitch_range, max_lead_s,
                zh_pitch_share, focus_voices, train_seed)
    if any(job.voice == PIPER_VOICE.name for job in jobs):  # fail before any synthesis, not in the first Piper job
        _piper()
    (out / "audio").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows: list[dict] = []
    if workers <= 1:
        _init_worker(espeak, out)
        for i, job in enumerate(jobs):
            rows.append(_run_job(job))
            _report(progress, i + 1, len(jobs), start)
    else:
        # spawn, not fork: the parent may have MLX (and its threads) loaded.
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(espeak, out)) as pool:
            for i, row in enumerate(pool.imap(_run_job, jobs, chunksize=8)):
                rows.append(row)
                _report(progress, i + 1, len(jobs), start)
    for split, manifest in (("train", "train.jsonl"), ("test", "test.jsonl"), ("piper", "piper_test.jsonl")):
        if split == "piper" and not piper_test:
            continue
        with open(out / manifest, "w", encoding="utf-8") as f:
            for row in rows:
                if row["id"].split("-")[1] == split:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
    seconds = time.perf_counter() - start
    return {
        "train": sum(r["id"].split("-")[1] == "train" for r in rows),
        "test": sum(r["id"].split("-")[1] == "test" for r in rows),
        "piper_test": sum(r["id"].split("-")[1] == "piper" for r in rows),
        "hours": round(sum(r["duration"] for r in rows) / 3600, 3),
        "seconds": round(seconds, 2),
        "utterances_per_second": round(len(rows) / seconds, 2) if seconds else None,
        "unseen_test_units": unseen_test_units(jobs),
    }


def _report(enabled: bool, done: int, total: int, start: float) -> None:
    if enabled and (done % 500 == 0 or done == total):
        rate = done / (time.perf_counter() - start)
        print(f"{done}/{total} utterances, {rate:.1f}/s", file=sys.stderr, flush=True)


def load_manifest(path: str | Path) -> list[dict]:
    """The rows of a train.jsonl / test.jsonl; `audio` stays relative to the manifest's folder."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _focus_counts(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        kind, _, n = value.partition("=")
        if not n.strip().lstrip("-").isdigit():
            raise ValueError(f"--focus takes KIND=N (N a whole number), not {value!r}")
        counts[kind] = counts.get(kind, 0) + int(n)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.corpus.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="output folder")
    parser.add_argument("--zh", type=int, default=0, help="Mandarin training utterances")
    parser.add_argument("--en", type=int, default=0, help="English training utterances")
    parser.add_argument("--test-zh", type=int, default=0, help="Mandarin test utterances")
    parser.add_argument("--test-en", type=int, default=0, help="English test utterances")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-train", type=int, default=0, metavar="K",
                        help="leave out the first K training sentences per language (to continue a run on new ones)")
    parser.add_argument("--train-seed", type=int, metavar="S",
                        help="draw the training sentences from seed S's stream (none of --seed's test split): "
                             "new sentences of every kind for a continued run, where --skip-train runs out of some")
    parser.add_argument("--focus", action="append", default=[], metavar="KIND=N",
                        help=f"N more Mandarin training utterances of a kind ({', '.join(FOCUS_KINDS)}); repeatable")
    parser.add_argument("--focus-voices", metavar="V,V", type=lambda value: tuple(value.split(",")),
                        help="speak the --focus utterances in these Mandarin training voices only (cmn+m1,cmn+m3)")
    parser.add_argument("--zh-pitch-range", metavar="RANGE",
                        help=f"speak Mandarin with espeak's SSML pitch range RANGE ({', '.join(PITCH_RANGES)}): "
                             "wider tone contours; default: as earlier corpora, no SSML")
    parser.add_argument("--zh-pitch-share", type=float, default=1.0, metavar="F",
                        help="share of the Mandarin utterances spoken with --zh-pitch-range (0 to 1, default 1)")
    parser.add_argument("--piper-test", type=int, default=0, metavar="N",
                        help="also speak the first N English test sentences with Piper's voice (piper_test.jsonl)")
    parser.add_argument("--piper-share", type=float, default=0.0, metavar="F",
                        help="share of the English training utterances spoken by Piper's voice (0 to 1)")
    parser.add_argument("--max-lead-silence", type=float, default=MAX_LEAD_S, metavar="S",
                        help=f"longest silence before an utterance's speech, seconds (default {MAX_LEAD_S})")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--espeak", help="espeak-ng binary (default $ESPEAK_NG_BIN or espeak-ng on PATH)")
    parser.add_argument("--espeak-data", help="espeak-ng-data folder (default $ESPEAK_DATA_PATH or the built-in one)")
    args = parser.parse_args(argv)
    try:
        focus = _focus_counts(args.focus)
        espeak = Espeak.locate(args.espeak, args.espeak_data)
        summary = build_corpus(args.out, zh=args.zh, en=args.en, test_zh=args.test_zh, test_en=args.test_en,
                               seed=args.seed, skip_train=args.skip_train, piper_test=args.piper_test,
                               piper_share=args.piper_share, focus=focus, zh_pitch_range=args.zh_pitch_range,
                               zh_pitch_share=args.zh_pitch_share,
                               max_lead_s=args.max_lead_silence, focus_voices=args.focus_voices,
                               train_seed=args.train_seed,
                               workers=args.workers,
                               espeak=espeak, progress=True)
    except (WorkbenchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for language, unseen in summary["unseen_test_units"].items():
        if unseen["share"] > UNSEEN_WARN_SHARE:
            print(f"warning: {unseen['share']:.1%} of the {language} test split's units are in no training "
                  f"sentence ({unseen['units']} distinct, most often {' '.join(unseen['most_frequent'])}); "
                  "a small or --skip-train build leaves them out", file=sys.stderr)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
