"""English words cut into their spoken syllables: English tokens that CIF can count.

CIF fires once per token, and a predictor that is trained to fire once per whole English word
ends up weighing time instead (`workbench eval --cif`'s weight by word duration: the shortest
fifth of the words got 0.74 of a token's weight, the longest 1.29). Words of one to four
syllables are one token each, so a quick sentence of short words is under-counted and a slow one
of long words over-counted: 61 % of the English test utterances got the exact count, against 97 %
of Mandarin sentences without English, whose tokens (characters) are one syllable each. Cutting
English words into syllables gives English the same unit.

How many syllables a word has comes from espeak-ng's phonemes (the vowels of its IPA, a diphthong
counting once): the corpus is spoken by espeak-ng, and Piper reads through the same phonemiser,
so this is the count the audio has. The spelling is then cut into that many pieces around its
vowel letters (`split_word`). Where the cut falls inside the spelling does not matter to CIF;
only the number of pieces does.
"""

from __future__ import annotations

import re
import subprocess

from ..corpus.synth import Espeak
from ..errors import WorkbenchError

VOWEL_LETTERS = "aeiouy"
# Vowel symbols of espeak-ng's English IPA; ɪ or ʊ after a, e, o or ɔ ends a diphthong (aɪ eɪ oʊ aʊ ɔɪ).
IPA_VOWELS = "aeiouæɑɒɔəɚɛɜɝɪʊʌᵻɐ"
DIPHTHONG_STARTS, DIPHTHONG_ENDS = "aeoɔ", "ɪʊ"
# Consonant pairs that spell one sound: kept whole when a syllable boundary falls among them.
ONSET_PAIRS = {"th", "sh", "ch", "ph", "wh"}
CODA_PAIRS = {"ck", "ng"}


def ipa_syllables(ipa: str) -> int:
    """Syllables in an espeak-ng IPA string: its vowels, a diphthong counted once."""
    count, previous = 0, " "
    for ch in re.sub(r"[ˈˌː\s]", "", ipa):
        if ch in IPA_VOWELS and not (previous in DIPHTHONG_STARTS and ch in DIPHTHONG_ENDS):
            count += 1
        previous = ch if ch in IPA_VOWELS else " "
    return count


def spoken_syllables(words: list[str], voice: str = "en-us") -> dict[str, int]:
    """Each word's syllable count as espeak-ng pronounces it on its own (at least 1)."""
    if not words:
        return {}
    espeak = Espeak.locate()  # the same binary and data the corpus builder finds
    # One word a line on stdin: espeak-ng answers each line with one line of IPA.
    proc = subprocess.run([espeak.binary, "-q", "--ipa", "-v", voice], input="\n".join(words), capture_output=True,
                          text=True, env=espeak.env(), timeout=120)
    out = proc.stdout.strip().split("\n")
    if proc.returncode != 0 or len(out) != len(words):
        raise WorkbenchError(f"espeak-ng gave {len(out)} pronunciations for {len(words)} words "
                             f"({proc.stderr.strip() or f'exit status {proc.returncode}'})")
    return {w: max(1, ipa_syllables(p)) for w, p in zip(words, out)}


def _vowel_groups(word: str) -> list[list[int]]:
    """[start, end) of each run of vowel letters; a leading y ("you", "yes") is a consonant."""
    groups = []
    for m in re.finditer(f"[{VOWEL_LETTERS}]+", word):
        start, end = m.span()
        if start == 0 and word[0] == "y":
            start += 1
        if start < end:
            groups.append([start, end])
    return groups


def _merge_one(word: str, groups: list[list[int]]) -> None:
    """Join two neighbouring vowel groups into one nucleus: a silent final e ("five") first, then
    the pair with the fewest letters between them, the later one on a tie."""
    last = groups[-1]
    if word.endswith(("e", "es", "ed")) and word[last[0]:last[1]] == "e" and len(groups) > 1:
        groups[-2][1] = last[1]
        del groups[-1]
        return
    gaps = [(groups[i + 1][0] - groups[i][1], -i) for i in range(len(groups) - 1)]
    i = -min(gaps)[1]
    groups[i][1] = groups[i + 1][1]
    del groups[i + 1]


def _split_one(groups: list[list[int]]) -> bool:
    """Cut the longest vowel group of two or more letters in two ("radio": i|o); False if none."""
    long = [g for g in groups if g[1] - g[0] >= 2]
    if not long:
        return False
    g = max(long, key=lambda g: g[1] - g[0])
    cut = g[0] + 1
    groups.insert(groups.index(g) + 1, [cut, g[1]])
    g[1] = cut
    return True


def _boundary(word: str, left_end: int, right_start: int) -> int:
    """Where the pieces of two neighbouring nuclei part, in the consonants between them: one
    consonant starts the next syllable (ti|ger), two or more are shared (hun|dred), and a pair
    that spells one sound stays whole (mo|ther, jack|et)."""
    between = word[left_end:right_start]
    if len(between) <= 1:
        return left_end
    if between[:2] in CODA_PAIRS:
        return left_end + 2
    if len(between) == 2 and between in ONSET_PAIRS:
        return left_end
    return left_end + 1


def split_word(word: str, syllables: int | None = None) -> list[str]:
    """`word` cut into `syllables` pieces (default: one per vowel group of its spelling, a silent
    final e not counted), each around one vowel nucleus where the spelling has enough of them.
    Letter names ("pdf", "ok") have fewer vowel letters than syllables: their longest piece is cut
    after its first letter until the count is reached or every piece is one letter."""
    groups = _vowel_groups(word)
    if syllables is None:
        silent_e = len(groups) > 1 and word.endswith("e") and word[groups[-1][0]:] == "e"
        syllables = len(groups) - silent_e
    syllables = max(syllables, 1)
    while len(groups) > syllables:
        _merge_one(word, groups)
    while len(groups) < syllables and _split_one(groups):
        pass
    cuts = [0] + [_boundary(word, groups[i][1], groups[i + 1][0]) for i in range(len(groups) - 1)] + [len(word)]
    pieces = [word[a:b] for a, b in zip(cuts, cuts[1:])]
    while len(pieces) < syllables and max(map(len, pieces)) > 1:
        i = max(range(len(pieces)), key=lambda i: len(pieces[i]))
        pieces[i:i + 1] = [pieces[i][0], pieces[i][1:]]
    return pieces
