"""Fun-ASR-Nano parity against upstream FunASR's FunASRNano (with a transformers Qwen3), stage by
stage: encoder, adaptor, number of audio positions, prompt ids, LLM logits at every step, greedy ids.
"""

import numpy as np
import pytest

import workbench
from workbench.decoding import DecodingConfig
from workbench.reference.nano_upstream import run_nano
from workbench.reference.signals import speech_like

CLIPS = [1.0, 1.7, 2.5, 3.3, 4.8, 6.1, 8.9, 12.4, 19.5, 29.7]
STEPS = 12
CAPTURE = ["frontend.features", "encoder.out", "adaptor.out", "llm.logits"]


def rel(ours, ref):
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


def check_parity(size, seconds, seed, dirs, table):
    src, converted = dirs(size)
    wav = speech_like(seconds, seed)
    ref = run_nano(src, wav, max_new_tokens=STEPS)
    pipeline = workbench.load(converted)
    result = pipeline.transcribe(wav, sample_rate=16000, capture=CAPTURE, decoding=DecodingConfig(max_new_tokens=STEPS))
    c = result.captures
    ids = [s["token"] for s in result.extra["steps"]]
    n = min(len(ids), len(ref["ids"]))
    errors = {
        "features abs": float(np.abs(c["frontend.features"] - ref["features"]).max()),
        "encoder rel": rel(c["encoder.out"], ref["encoder_out"]),
        "adaptor rel": rel(c["adaptor.out"], ref["adaptor_out"]),
        "LLM logits rel (all steps)": rel(c["llm.logits"][:n], ref["step_logits"][:n]),
    }
    table(f"Fun-ASR-Nano {size}", {"clip s": seconds, "T": c["encoder.out"].shape[0],
                                    "audio positions ours/ref": f"{result.extra['n_audio_positions']}/{ref['n_audio']}",
                                    "steps": n, **errors})
    assert errors["features abs"] <= 1e-3  # no CMVN here: the log-mel rounding itself, see docs/parity.md
    assert errors["encoder rel"] <= 1e-3 and errors["adaptor rel"] <= 1e-3
    assert result.extra["n_audio_positions"] == ref["n_audio"]
    assert result.extra["prompt_ids"] == {"prefix": ref["prefix_ids"].tolist(), "suffix": ref["suffix_ids"].tolist()}
    assert errors["LLM logits rel (all steps)"] <= 1e-3
    assert ids == ref["ids"].tolist()
    assert result.text == ref["text"]


@pytest.mark.parametrize("seed, seconds", list(enumerate(CLIPS)))
def test_reduced_size_parity(seed, seconds, nano_dirs, parity_table):
    check_parity("tiny", seconds, seed, nano_dirs, parity_table)


@pytest.mark.parametrize("seed, seconds", [(200, 4.0), (201, 14.0)])
def test_full_size_encoder_and_adaptor_parity(seed, seconds, nano_dirs, parity_table):
    check_parity("encoder-full", seconds, seed, nano_dirs, parity_table)


@pytest.mark.parametrize("kwargs, ours", [
    ({}, {}),
    ({"hotwords": ["通义", "Paraformer"]}, {"hotwords": ["通义", "Paraformer"]}),
    ({"language": "英文"}, {"language": "en"}),
    ({"itn": False}, {"itn": False}),
])
def test_prompt_ids_match_upstream_with_the_real_tokenizer(kwargs, ours, nano_dirs):
    src, converted = nano_dirs("tiny")
    ref = run_nano(src, speech_like(1.0, 5), max_new_tokens=1, **kwargs)
    prefix, suffix = workbench.load(converted).prompt.ids(**ours)
    assert prefix == ref["prefix_ids"].tolist() and suffix == ref["suffix_ids"].tolist()


def test_default_prompt_has_the_documented_layout(nano_dirs):
    prompt = workbench.load(nano_dirs("tiny")[1]).prompt
    prefix, suffix = prompt.ids()
    assert len(prefix) == 18 and prefix[0] == prompt.im_start
    assert suffix == [prompt.im_end, 198, prompt.im_start, 77091, 198]
    assert prompt.decode(prefix) == "system\nYou are a helpful assistant.\nuser\n语音转写："


def test_sampling_is_reproducible_and_beam_width_one_is_greedy(nano_dirs):
    pipeline = workbench.load(nano_dirs("tiny")[1])
    wav = speech_like(3.0, 9)

    def run(**kw):
        return pipeline.transcribe(wav, sample_rate=16000, decoding=DecodingConfig(max_new_tokens=8, **kw))

    a, b = run(strategy="sample", temperature=1.5, seed=3), run(strategy="sample", temperature=1.5, seed=3)
    assert [t.id for t in a.tokens] == [t.id for t in b.tokens]
    greedy, beam1 = run(), run(strategy="beam", num_beams=1)
    assert [s["token"] for s in beam1.extra["steps"]] == [s["token"] for s in greedy.extra["steps"]]
    np.testing.assert_allclose([s["logprob"] for s in beam1.extra["steps"]],
                               [s["logprob"] for s in greedy.extra["steps"]], atol=1e-5)


def test_capturing_does_not_change_outputs(nano_dirs):
    pipeline = workbench.load(nano_dirs("tiny")[1])
    wav = speech_like(2.0, 11)
    config = DecodingConfig(max_new_tokens=6)
    fast = pipeline.transcribe(wav, sample_rate=16000, decoding=config)
    inspected = pipeline.transcribe(wav, sample_rate=16000, decoding=config, capture=["*"])
    assert [s["token"] for s in inspected.extra["steps"]] == [s["token"] for s in fast.extra["steps"]]
    np.testing.assert_allclose([s["logprob"] for s in inspected.extra["steps"]],
                               [s["logprob"] for s in fast.extra["steps"]], rtol=1e-5, atol=1e-5)
    n_steps = len(fast.extra["steps"])
    attn = inspected.captures["llm.layers.0.attn"]
    assert attn.shape[1] == n_steps  # one row per generated token, over all earlier positions
    np.testing.assert_allclose(attn.sum(-1), 1.0, atol=1e-4)
    assert inspected.captures["llm.steps"]["token"].tolist() == [s["token"] for s in fast.extra["steps"]]
