"""Fun-ASR-Nano's chat prompt, tokenized with the model's own Qwen3 `tokenizer.json`.

Layout (upstream FunASRNano.data_load_speech, turn 0, no `<think>` block):

    <|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n<|im_start|>user\\n{prompt}
    [audio embeddings]
    <|im_end|>\\n<|im_start|>assistant\\n

The `<|startofspeech|>…<|endofspeech|>` span of the upstream template is never tokenized: the
whole span is replaced by the audio embeddings, so the text before and after it are tokenized
separately. Special-token ids are looked up in the tokenizer, never hard-coded.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from .errors import CheckpointError

SYSTEM = "You are a helpful assistant."
HOTWORD_INTRO = ("请结合上下文信息，更加准确地完成语音转写任务。如果没有相关信息，我们会留空。"
                 "\n\n\n**上下文信息：**\n\n\n")
# Short language codes accepted for convenience, mapped to the words the model was trained with.
LANGUAGES = {"zh": "中文", "en": "英文", "ja": "日文", "ko": "韩文"}


def task_prompt(hotwords: list[str] | None = None, language: str | None = None, itn: bool = True) -> str:
    """The instruction text, as upstream's get_prompt builds it ("语音转写：" by default)."""
    prompt = ""
    if hotwords:
        prompt = HOTWORD_INTRO + "热词列表：[" + ", ".join(hotwords) + "]\n"
    prompt += "语音转写" if language is None else "语音转写成" + LANGUAGES.get(language, language)
    if not itn:
        prompt += "，不进行文本规整"
    return prompt + "："


class NanoPrompt:
    def __init__(self, tokenizer_path: str | Path):
        path = Path(tokenizer_path)
        if not path.is_file():
            raise CheckpointError(f"{path}: tokenizer.json is missing")
        try:
            self.tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception for malformed files
            raise CheckpointError(f"{path}: not a valid tokenizer.json ({exc})") from None
        self.im_start, self.im_end = self.special_id("<|im_start|>"), self.special_id("<|im_end|>")
        self.endoftext = self.special_id("<|endoftext|>")

    def special_id(self, token: str) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise CheckpointError(f"tokenizer has no {token} token; not a Qwen chat tokenizer")
        return token_id

    @property
    def stop_tokens(self) -> tuple[int, ...]:
        return (self.im_end, self.endoftext)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def ids(self, hotwords=None, language=None, itn=True) -> tuple[list[int], list[int]]:
        """(prefix ids, suffix ids) around the audio span."""
        prefix = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{task_prompt(hotwords, language, itn)}"
        suffix = "<|im_end|>\n<|im_start|>assistant\n"
        return self.encode(prefix), self.encode(suffix)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)
