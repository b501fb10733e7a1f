"""Text post-processing equals FunASR's sentence_postprocess on random token sequences."""

import random

import pytest
from funasr.utils.postprocess_utils import sentence_postprocess as upstream

from workbench.text import sentence_postprocess

VOCAB = ["你", "好", "中", "国", "12", "9a", "@", "hel@@", "lo", "wor@@", "ld", "a", "b", "c", "x", "I", "'",
         "it's", "<unk>", "<s>", "</s>", "，", "?", "A", "ab@@", "z", "3", "的", "<OOV>", "é", "ß"]


@pytest.mark.parametrize("seed", range(5))
def test_matches_upstream_on_random_token_sequences(seed):
    rng = random.Random(seed)
    for _ in range(2000):
        tokens = [rng.choice(VOCAB) for _ in range(rng.randint(0, 14))]
        assert sentence_postprocess(tokens) == upstream(tokens)[0], tokens


@pytest.mark.parametrize(
    "tokens, text",
    [
        (["你", "好", "世", "界"], "你好世界"),
        (["hel@@", "lo", "world"], "hello world"),
        (["我", "爱", "hel@@", "lo", "你"], "我爱hello你"),
        (["a", "b", "c", "test"], "ABC test"),
        (["<s>", "你", "<unk>", "</s>"], "你"),
    ],
)
def test_known_cases(tokens, text):
    assert sentence_postprocess(tokens) == text
