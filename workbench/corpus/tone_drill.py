"""Tone drills: random strings of Mandarin syllables, spoken with no sentence around them.

The demo models never learnt to hear Mandarin tones. In the generated sentences a syllable's
neighbours tell which character it is, so little in their training asked for the tone: a name's
surname (何 hé / 贺 hè) is the one place where only the tone tells, and there they guess
(`scripts/probe_surname_tone.py`).
A drill string gives every syllable that need: its characters are drawn at random, one per
(syllable, tone) of the corpus's own characters, from syllables that espeak-ng speaks with more
than one tone (十 shí / 是 shì / 师 shī ...), so nothing but the tone picks the character.

`zh_tones.tsv` is each character of the demos' vocabulary as espeak-ng 1.51's
`cmn-latn-pinyin` voice speaks it alone: its syllable and its tone (Chao digits: 55, 35, 214, 51,
11 for the neutral tone). `python -m workbench.corpus.tone_drill [ESPEAK_NG_BINARY]` writes it
again from espeak-ng (`tests/test_tone_drill.py` checks that it matches the installed espeak-ng).
`scripts/probe_tone_drill.py` measures how many of the drills' tones a model gets right.
"""

from __future__ import annotations

import functools
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

TABLE = Path(__file__).with_name("zh_tones.tsv")
VOCABULARY = Path(__file__).resolve().parents[1] / "bundled" / "paraformer-demo" / "tokens.json"
# Left out: espeak-ng changes their tone with the next syllable's (一 yī / yí / yì, 不 bù / bú),
# so a drill's label would not say what is heard.
SANDHI = "一不"
THIRD_TONE = "214"
LENGTH = (5, 10)  # syllables per drill: about a short sentence's


@functools.cache
def zh_tones() -> dict[str, tuple[str, str]]:
    """`zh_tones.tsv`: character → (syllable, tone)."""
    rows = (line.split("\t") for line in TABLE.read_text(encoding="utf-8").splitlines()[1:])
    return {char: (syllable, tone) for char, syllable, tone in rows}


def drill_classes(tones: dict[str, tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """(character, tone) for each (syllable, tone) of a syllable spoken with two tones or more: the
    first character of the table (the most frequent in the corpus) stands for it, so that one
    sound always has one spelling in a drill."""
    by_syllable: dict[str, dict[str, str]] = {}
    for char, (syllable, tone) in (tones or zh_tones()).items():
        if char not in SANDHI:
            by_syllable.setdefault(syllable, {}).setdefault(tone, char)
    return [(char, tone) for spelt in by_syllable.values() if len(spelt) > 1 for tone, char in spelt.items()]


def drills(seed: int, after: int = 0) -> Iterator[str]:
    """An endless stream of drill strings, seeded by `seed` and `after` (`sentences.focus_stream`'s
    position in the sentence stream, so that a corpus continuing an earlier one drills anew). Two
    third tones never follow each other: espeak-ng speaks the first as a rising tone (五五 wǔ wǔ →
    wú wǔ), as Mandarin speakers do."""
    classes = drill_classes()
    rng = random.Random(f"tone-drill:{seed}:{after}")
    while True:
        picked: list[tuple[str, str]] = []
        length = rng.randint(*LENGTH)
        while len(picked) < length:
            char, tone = rng.choice(classes)
            if not (tone == THIRD_TONE and picked and picked[-1][1] == THIRD_TONE):
                picked.append((char, tone))
        yield "".join(char for char, _ in picked)


def speak_phonemes(chars: str, espeak_binary: str = "espeak-ng") -> list[str]:
    """espeak-ng's phonemes for each character spoken alone, e.g. 十 → "s.'i.35"."""
    # One clause per character: espeak-ng reads each as a sentence of its own, with no sandhi.
    spoken = subprocess.run([espeak_binary, "-v", "cmn-latn-pinyin", "-q", "-x", "，".join(chars)],
                            capture_output=True, text=True, check=True).stdout.split()
    phonemes = [p.removesuffix("_|") for p in spoken]
    if len(phonemes) != len(chars):
        raise RuntimeError(f"espeak-ng spoke {len(phonemes)} syllables for {len(chars)} characters")
    return phonemes


def table_rows(chars: str, espeak_binary: str = "espeak-ng") -> list[tuple[str, str, str]]:
    """(character, syllable, tone) from espeak-ng, the stress mark dropped."""
    rows = []
    for char, phonemes in zip(chars, speak_phonemes(chars, espeak_binary)):
        plain = phonemes.replace("'", "")
        tone = re.findall(r"\d+", plain)
        if len(tone) != 1:
            raise RuntimeError(f"espeak-ng spoke {char} as {phonemes}, not one syllable with one tone")
        rows.append((char, re.sub(r"\d+", "", plain), tone[0]))
    return rows


def vocabulary_characters() -> str:
    """The Chinese characters of the bundled paraformer-demo's vocabulary, most frequent first: a
    drill may use only characters that the demos (continued with their vocabulary) can spell."""
    tokens = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    return "".join(t for t in tokens if len(t) == 1 and "\u4e00" <= t <= "\u9fff")


def main() -> None:
    rows = table_rows(vocabulary_characters(), *sys.argv[1:2])
    TABLE.write_text("character\tsyllable\ttone\n" + "".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
    classes = drill_classes({char: (syllable, tone) for char, syllable, tone in rows})
    print(f"wrote {TABLE}: {len(rows)} characters, {len(classes)} drill classes")


if __name__ == "__main__":
    main()
