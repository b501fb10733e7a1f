"""Paraformer token lists (`tokens.json`) and FunASR's sentence post-processing.

Chinese is one character per token; English uses BPE pieces where a trailing "@@" means the
word continues in the next piece ("hel@@", "lo" → "hello"). Post-processing reproduces
FunASR's `sentence_postprocess` exactly, including its quirks, because users compare our text
with upstream's character for character:

* a token counts as "Chinese" by *string* comparison: "\\u4e00" <= token <= "\\u9fff", or
  "0" <= token <= "9", or token == "@" (so "12" is Chinese, "9a" is not);
* all-Chinese output joins without spaces; all-English output joins words with spaces;
* in mixed output a Chinese character removes the space after the preceding English word;
* runs of single ASCII letters separated by spaces ("a b c") become one upper-case word ("ABC").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import CheckpointError

DROPPED = ("<s>", "</s>", "<unk>", "<OOV>")
CJK = re.compile(r"[\u4e00-\u9fff]")


def split_words(text: str) -> list[str]:
    """Chinese characters one by one, English words whole and lower-cased (as paraformer-zh
    outputs them): the unit of both the demo vocabulary and the mixed error rate."""
    words = []
    for chunk in text.split():
        for part in re.findall(r"[\u4e00-\u9fff]|[^\u4e00-\u9fff]+", chunk):
            words.append(part if CJK.match(part) else part.lower())
    return words


PUNCT = re.compile(r"[^\w\s']|_", re.UNICODE)


def units(text: str, language: str) -> list[str]:
    """The units errors are counted in: lower case, punctuation dropped, then Chinese characters and
    English words for Mandarin (code-switched) text, words for English."""
    text = PUNCT.sub(" ", text).lower()
    return split_words(text) if language == "zh" else text.split()


def load_token_list(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: token list tokens.json is missing")
    try:
        tokens = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens) or not tokens:
        raise CheckpointError(f"{path}: expected a non-empty JSON list of token strings")
    return tokens


def _clean(token: str) -> str:
    for junk in (" ", "</s>", "<s>", "<unk>", "<OOV>"):  # upstream's order matters ("<</s>s>")
        token = token.replace(junk, "")
    return token


def _is_chinese(token: str) -> bool:
    return "\u4e00" <= token <= "\u9fff" or "0" <= token <= "9" or token == "@"


def _all_chinese(pieces) -> bool:
    cleaned = [_clean(p) for p in pieces]
    return bool(cleaned) and all(_is_chinese(c) for c in cleaned)


def _all_alpha(pieces) -> bool:
    cleaned = [_clean(p) for p in pieces]
    return bool(cleaned) and all((c.isalpha() or c == "'") and not (c.isalpha() and _is_chinese(c)) for c in cleaned)


def _merge_spelled_letters(words: list[str]) -> list[str]:
    """['a', ' ', 'b', ' ', 'c', ' '] → ['ABC', ' ']: spelled-out abbreviations."""

    def letter(w: str) -> bool:
        return len(w) == 1 and w.isascii() and w.isalpha()

    out, i = [], 0
    while i < len(words):
        end = i
        if letter(words[i]):
            while end + 2 < len(words) and words[end + 1] == " " and letter(words[end + 2]):
                end += 2
        out.append("".join(words[i : end + 1 : 2]).upper() if end > i else words[i])
        i = end + 1
    return out


def sentence_postprocess(tokens: list[str]) -> str:
    """Token strings → text, as FunASR's `sentence_postprocess` without timestamps."""
    pieces = [t for t in tokens if t not in DROPPED]
    words: list[str] = []
    if _all_chinese(pieces):
        words = [p.replace(" ", "") for p in pieces]
    else:
        mixed = not _all_alpha(pieces)
        pending = ""  # an English word still being assembled from "@@" pieces
        space_after_word = False
        for piece in pieces:
            if mixed and _all_chinese(piece):
                if space_after_word:
                    words.pop()
                words.append(piece)
                space_after_word = False
            elif "@@" in piece:
                pending += piece.replace("@@", "")
                space_after_word = False
            elif not mixed or _all_alpha(piece):
                words += [pending + piece, " "]
                pending = ""
                space_after_word = True
            else:
                words.append(piece)
    return "".join(_merge_spelled_letters(words)).strip()
