"""Vocabularies for the demo models.

paraformer-demo follows upstream's `tokens.json` conventions so the same post-processing applies:
one token per Chinese character, English as BPE pieces where a trailing "@@" means the word
continues ("hel@@", "lo"), and <blank>, <s>, </s> first and <unk> last.

nano-demo uses a small byte-level BPE trained with `tokenizers`, carrying Qwen's chat special
tokens, so the upstream prompt layout (and our prompt code) works unchanged.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from ..text import CJK, split_words

SPECIALS = ["<blank>", "<s>", "</s>"]
UNK = "<unk>"
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


class ParaformerVocab:
    """Encodes text into upstream-style token ids; built from training sentences."""

    def __init__(self, tokens: list[str], bpe: Tokenizer | None):
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}
        self.bpe = bpe

    @classmethod
    def build(cls, texts: list[str], english_pieces: int = 600) -> "ParaformerVocab":
        chars, english = Counter(), []
        for text in texts:
            for w in split_words(text):
                if CJK.match(w):
                    chars[w] += 1
                else:
                    english.append(w)
        bpe = Tokenizer(models.BPE(unk_token=UNK, end_of_word_suffix="</w>"))
        bpe.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        trainer = trainers.BpeTrainer(vocab_size=english_pieces, special_tokens=[UNK], end_of_word_suffix="</w>",
                                      show_progress=False)
        bpe.train_from_iterator([" ".join(english)] if english else [""], trainer)
        pieces = sorted({cls._piece(p) for p in bpe.get_vocab() if p != UNK})
        tokens = SPECIALS + [c for c, _ in chars.most_common()] + pieces + [UNK]
        return cls(tokens, bpe)

    @staticmethod
    def _piece(bpe_token: str) -> str:
        # BPE marks word ends; upstream marks continuations. "lo</w>" → "lo", "hel" → "hel@@".
        return bpe_token[: -len("</w>")] if bpe_token.endswith("</w>") else bpe_token + "@@"

    def encode(self, text: str) -> list[int]:
        unk = self.index[UNK]
        ids = []
        for w in split_words(text):
            if CJK.match(w):
                ids.append(self.index.get(w, unk))
            else:
                pieces = [self._piece(p) for p in self.bpe.encode(w).tokens] if self.bpe else [w]
                ids += [self.index.get(p, unk) for p in pieces]
        return ids

    def unknown_words(self, texts: list[str]) -> set[str]:
        """The words of `texts` that encode to at least one <unk> (word by word only in the texts
        that have one)."""
        unk = self.index[UNK]
        return {w for text in texts if unk in self.encode(text) for w in split_words(text) if unk in self.encode(w)}

    def save(self, directory: Path) -> None:
        (directory / "tokens.json").write_text(json.dumps(self.tokens, ensure_ascii=False))
        if self.bpe is not None:
            self.bpe.save(str(directory / "english_bpe.json"))

    @classmethod
    def load(cls, directory: Path) -> "ParaformerVocab":
        tokens = json.loads((directory / "tokens.json").read_text())
        bpe_path = directory / "english_bpe.json"
        return cls(tokens, Tokenizer.from_file(str(bpe_path)) if bpe_path.exists() else None)


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
