"""Paraformer parity against upstream FunASR, stage by stage, at reduced and full size.

The oracle builds upstream's own Paraformer with random weights, writes it as an upstream model
directory, and runs upstream's pipeline; we convert that directory with our converter and run
ours on the same audio. Tolerances are the project's parity targets (docs/parity.md).
"""

import numpy as np
import pytest
from test_frontend import knf_fbank

import workbench
from workbench.frontend import apply_lfr
from workbench.reference.paraformer_upstream import run_paraformer
from workbench.reference.signals import speech_like

# Ten inputs from 1 to 30 s for the reduced model; three for the full-size one (each full-size
# clip costs a few seconds in both implementations).
TINY_CLIPS = [1.0, 1.7, 2.5, 3.3, 4.8, 6.1, 8.9, 12.4, 19.5, 29.7]
LARGE_CLIPS = [3.3, 12.4, 29.7]
CAPTURE = ["frontend.fbank", "frontend.features", "encoder.out", "predictor.*", "decoder.logits"]


def rel(ours, ref):
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


def absmax(ours, ref):
    return float(np.abs(ours - ref).max())


def check_parity(size, seconds, seed, dirs, table, check_inference=True):
    src, converted = dirs(size)
    wav = speech_like(seconds, seed)
    ref = run_paraformer(src, wav, check_inference=check_inference)
    pipeline = workbench.load(converted)
    result = pipeline.transcribe(wav, sample_rate=16000, capture=CAPTURE)
    c = result.captures

    n_ours, n_ref = c["decoder.logits"].shape[0], ref["token_num"]
    # The features stage on its own: our LFR + CMVN applied to upstream's fbank.
    stage_features = pipeline.frontend.cmvn(apply_lfr(ref["fbank"], 7, 6))
    errors = {
        "fbank abs": absmax(c["frontend.fbank"], ref["fbank"]),
        "fbank abs vs knf": absmax(c["frontend.fbank"], knf_fbank(wav)),
        "features abs (stage)": absmax(stage_features, ref["features"]),
        "features abs (end to end)": absmax(c["frontend.features"], ref["features"]),
        "encoder rel": rel(c["encoder.out"], ref["encoder_out"]),
        "alphas abs": absmax(c["predictor.alphas"], ref["alphas"]),
    }
    if n_ours == n_ref:
        errors["logits rel"] = rel(c["decoder.logits"], ref["decoder_logits"])
    table(
        f"Paraformer {size}",
        {"clip s": seconds, "T": c["encoder.out"].shape[0], "N ours/ref": f"{n_ours}/{n_ref}", **errors},
    )

    assert errors["fbank abs"] <= 1e-3 and errors["fbank abs vs knf"] <= 1e-3
    assert errors["features abs (stage)"] <= 1e-4
    assert errors["features abs (end to end)"] <= 2e-4  # fbank's 1e-3 times a CMVN scale of ~0.15
    assert errors["encoder rel"] <= 1e-3
    assert errors["alphas abs"] <= 1e-5
    assert n_ours == n_ref, "token counts differ"
    assert errors["logits rel"] <= 1e-3
    np.testing.assert_array_equal(c["decoder.logits"].argmax(-1), ref["ids"])
    assert result.text == ref["text"]


@pytest.mark.parametrize("seed, seconds", list(enumerate(TINY_CLIPS)))
def test_reduced_size_parity(seed, seconds, paraformer_dirs, parity_table):
    check_parity("tiny", seconds, seed, paraformer_dirs, parity_table)


@pytest.mark.parametrize("seed, seconds", list(enumerate(LARGE_CLIPS)))
def test_full_size_parity(seed, seconds, paraformer_dirs, parity_table):
    check_parity("large", seconds, seed + 100, paraformer_dirs, parity_table, check_inference=seconds < 10)


def test_seaco_directory_decodes_like_upstream_main_path(paraformer_dirs):
    src, converted = paraformer_dirs("tiny", seaco=True)
    wav = speech_like(4.0, 42)
    ref = run_paraformer(src, wav, check_inference=False)
    result = workbench.load(converted).transcribe(wav, sample_rate=16000)
    # SeACo always space-separates its text (it computes timestamps); compare the plain form.
    assert result.text == ref["text_no_timestamp"]
    assert len(result.tokens) == sum(i not in (0, 1, 2) for i in ref["ids"])


def test_capturing_does_not_change_outputs(paraformer_dirs):
    pipeline = workbench.load(paraformer_dirs("tiny")[1])
    wav = speech_like(5.0, 7)
    fast = pipeline.transcribe(wav, sample_rate=16000)
    inspected = pipeline.transcribe(wav, sample_rate=16000, capture=["*"])
    assert inspected.text == fast.text
    assert [t.id for t in inspected.tokens] == [t.id for t in fast.tokens]
    assert [(t.start, t.end) for t in inspected.tokens] == [(t.start, t.end) for t in fast.tokens]
    np.testing.assert_allclose([t.logprob for t in inspected.tokens], [t.logprob for t in fast.tokens],
                               rtol=1e-5, atol=1e-6)
    assert not fast.captures
    layers = pipeline.config.encoder_conf.num_blocks
    assert inspected.captures["encoder.layers.0.attn"].shape[0] == pipeline.config.encoder_conf.attention_heads
    assert sum(name.endswith(".attn") for name in inspected.captures) == layers


def test_batched_transcription_equals_one_at_a_time(paraformer_dirs):
    pipeline = workbench.load(paraformer_dirs("tiny")[1])
    clips = [speech_like(s, 50 + i) for i, s in enumerate([2.2, 5.3, 3.1, 0.9])]
    capture = ["encoder.out", "predictor.alphas", "decoder.logits", "decoder.layers.0.cross_attn"]
    batched = pipeline.transcribe_batch(clips, sample_rate=16000, capture=capture)
    for clip, together in zip(clips, batched):
        alone = pipeline.transcribe(clip, sample_rate=16000, capture=capture)
        assert together.text == alone.text
        assert [(t.id, t.start, t.end) for t in together.tokens] == [(t.id, t.start, t.end) for t in alone.tokens]
        for name in capture:
            assert together.captures[name].shape == alone.captures[name].shape, name
            np.testing.assert_allclose(together.captures[name], alone.captures[name], atol=1e-4, rtol=1e-4,
                                       err_msg=name)
