"""Tone drills (`workbench/corpus/tone_drill.py`): random syllables whose tones alone tell their characters."""

import itertools
import json
import shutil

import pytest

from workbench.corpus import sentences as S
from workbench.corpus import tone_drill as D
from workbench.corpus.build import plan

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


@needs_espeak
def test_the_tone_table_is_what_espeak_ng_speaks():
    chars = D.vocabulary_characters()
    assert len(chars) == 691 and chars[:3] == "一十了"
    assert D.table_rows(chars) == [(c, *D.zh_tones()[c]) for c in chars]
    # Tones as Chao digits: 是 shì falls, 十 shí rises, on one syllable.
    assert D.zh_tones()["是"] == ("s.i.", "51") and D.zh_tones()["十"] == ("s.i.", "35")


def test_drill_classes_are_one_character_per_syllable_and_tone_of_syllables_with_several_tones():
    classes = D.drill_classes()
    tones = D.zh_tones()
    sounds = [tones[char] for char, _ in classes]
    assert len(sounds) == len(set(sounds)) == 358  # one spelling per sound
    syllables = {syllable for syllable, _ in sounds}
    assert all(sum(s == syllable for s, _ in sounds) >= 2 for syllable in syllables)
    assert not set(D.SANDHI) & {char for char, _ in classes}
    # The most frequent character stands for its sound: 十 for shí (not 时, 实, 食, 石), 是 for shì.
    assert ("十", "35") in classes and ("是", "51") in classes and ("时", "35") not in classes
    # Every character is one a demo (continued with its vocabulary) can spell.
    vocabulary = set(json.loads(D.VOCABULARY.read_text(encoding="utf-8")))
    assert {char for char, _ in classes} <= vocabulary


def test_drills_are_seeded_and_never_put_two_third_tones_together():
    first = list(itertools.islice(D.drills(0), 500))
    assert first == list(itertools.islice(D.drills(0), 500))
    assert first[:50] != list(itertools.islice(D.drills(0, after=1000), 50)) != list(itertools.islice(D.drills(1), 50))
    allowed = {char for char, _ in D.drill_classes()}
    tones = D.zh_tones()
    for drill in first:
        assert D.LENGTH[0] <= len(drill) <= D.LENGTH[1] and set(drill) <= allowed
        assert all(not (tones[a][1] == tones[b][1] == "214") for a, b in itertools.pairwise(drill)), drill
    assert {len(d) for d in first} == set(range(D.LENGTH[0], D.LENGTH[1] + 1))


def test_tone_drill_focus_adds_drills_and_changes_nothing_else():
    base = plan(200, 20, 30, 10, seed=4, focus={"tone-pair": 10})
    drilled = plan(200, 20, 30, 10, seed=4, focus={"tone-pair": 10, "tone-drill": 25})
    assert drilled[:len(base)] == base
    extra = drilled[len(base):]
    assert [j.id for j in extra] == [f"zh-train-tone-drill-{i:06d}" for i in range(25)]
    assert [j.text for j in extra] == S.focus_sentences("tone-drill", 25, S.train_start(30) + 200, seed=4)
    assert all(j.split == "train" and j.language == "zh" and not j.held_out for j in extra)
    # A continuation (past 500 more training sentences) drills other strings.
    later = plan(200, 20, 30, 10, seed=4, skip_train=500, focus={"tone-drill": 25})
    assert not {j.text for j in extra} & {j.text for j in later if "drill" in j.id}
