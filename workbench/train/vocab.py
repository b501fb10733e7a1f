"""Vocabularies for the demo models.

paraformer-demo follows upstream's `tokens.json` conventions so the same post-processing applies:
one token per Chinese character, English as pieces where a trailing "@@" means the word
continues ("hel@@", "lo"), and <blank>, <s>, </s> first and <unk> last. The English pieces are
either BPE pieces (`english_bpe.json`, as upstream) or spoken syllables (`english_syllables.json`,
each word's cut; `syllables.py` says why).

nano-demo uses a small byte-level BPE trained with `tokenizers`, carrying Qwen's chat special
tokens, so the upstream prompt layout (and our prompt code) works unchanged.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from ..errors import WorkbenchError
from ..text import CJK, split_words
from .syllables import split_word, spoken_syllables

SPECIALS = ["<blank>", "<s>", "</s>"]
UNK = "<unk>"
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
ENGLISH_UNITS = ("bpe", "syllables")
BPE_FILE, SYLLABLES_FILE = "english_bpe.json", "english_syllables.json"


class ParaformerVocab:
    """Encodes text into upstream-style token ids; built from training sentences."""

    def __init__(self, tokens: list[str], bpe: Tokenizer | None = None, syllables: dict[str, list[str]] | None = None):
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}
        self.bpe = bpe
        self.syllables = syllables  # word → its syllable pieces, for every English word of the training text

    @classmethod
    def build(cls, texts: list[str], english_pieces: int = 600, english_units: str = "bpe") -> "ParaformerVocab":
        if english_units not in ENGLISH_UNITS:
            raise WorkbenchError(f"English units must be one of {', '.join(ENGLISH_UNITS)}, not {english_units!r}")
        chars, english = Counter(), []
        for text in texts:
            for w in split_words(text):
                if CJK.match(w):
                    chars[w] += 1
                else:
                    english.append(w)
        bpe = syllables = None
        if english_units == "syllables":
            counts = spoken_syllables(sorted(set(english)))
            syllables = {w: split_word(w, n) for w, n in counts.items()}
            vocab = cls([], syllables=syllables)
            pieces = sorted({p for w in syllables for p in vocab._english(w)})
        else:
            bpe = Tokenizer(models.BPE(unk_token=UNK, end_of_word_suffix="</w>"))
            bpe.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
            trainer = trainers.BpeTrainer(vocab_size=english_pieces, special_tokens=[UNK], end_of_word_suffix="</w>",
                                          show_progress=False)
            bpe.train_from_iterator([" ".join(english)] if english else [""], trainer)
            pieces = sorted({cls._piece(p) for p in bpe.get_vocab() if p != UNK})
        tokens = SPECIALS + [c for c, _ in chars.most_common()] + pieces + [UNK]
        return cls(tokens, bpe, syllables)

    @staticmethod
    def _piece(bpe_token: str) -> str:
        # BPE marks word ends; upstream marks continuations. "lo</w>" → "lo", "hel" → "hel@@".
        return bpe_token[: -len("</w>")] if bpe_token.endswith("</w>") else bpe_token + "@@"

    def _english(self, word: str) -> list[str]:
        """An English word's pieces, "@@" marking every one but the last."""
        if self.syllables is not None:
            # A word the training text did not have is cut by its spelling alone (no espeak-ng at
            # inference; the count is right for 88 % of the corpus's words).
            parts = self.syllables.get(word) or split_word(word)
            return [p + "@@" for p in parts[:-1]] + parts[-1:]
        if self.bpe is not None:
            return [self._piece(p) for p in self.bpe.encode(word).tokens]
        return [word]

    def encode(self, text: str) -> list[int]:
        unk = self.index[UNK]
        ids = []
        for w in split_words(text):
            if CJK.match(w):
                ids.append(self.index.get(w, unk))
            else:
                ids += [self.index.get(p, unk) for p in self._english(w)]
        return ids

    def unknown_words(self, texts: list[str]) -> set[str]:
        """The words of `texts` that encode to at least one <unk> (word by word only in the texts
        that have one)."""
        unk = self.index[UNK]
        return {w for text in texts if unk in self.encode(text) for w in split_words(text) if unk in self.encode(w)}

    def save(self, directory: Path) -> list[str]:
        """Write the vocabulary's files into `directory`; returns their names."""
        (directory / "tokens.json").write_text(json.dumps(self.tokens, ensure_ascii=False))
        if self.bpe is not None:
            self.bpe.save(str(directory / BPE_FILE))
        if self.syllables is not None:
            (directory / SYLLABLES_FILE).write_text(json.dumps(self.syllables, sort_keys=True))
        return ["tokens.json"] + [BPE_FILE] * (self.bpe is not None) + [SYLLABLES_FILE] * (self.syllables is not None)

    @staticmethod
    def english_file(directory: Path) -> Path | None:
        """The file that says how `directory`'s vocabulary splits English words, if any."""
        return next((directory / n for n in (SYLLABLES_FILE, BPE_FILE) if (directory / n).is_file()), None)

    @classmethod
    def load(cls, directory: Path) -> "ParaformerVocab":
        tokens = json.loads((directory / "tokens.json").read_text())
        english = cls.english_file(directory)
        if english is None:
            return cls(tokens)
        if english.name == SYLLABLES_FILE:
            return cls(tokens, syllables=json.loads(english.read_text()))
        return cls(tokens, Tokenizer.from_file(str(english)))


def train_nano_tokenizer(texts: list[str], vocab_size: int = 3000) -> Tokenizer:
    """A byte-level BPE (like Qwen's) with Qwen's chat special tokens. The prompt's fixed text
    (system message, task instruction) is part of the training text so it encodes compactly."""
    from ..prompt import SYSTEM, task_prompt

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=QWEN_SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    fixed = [f"system\n{SYSTEM}\nuser\n{task_prompt()}\nassistant\n"] * 50
    tok.train_from_iterator(texts + fixed, trainer)
    return tok
