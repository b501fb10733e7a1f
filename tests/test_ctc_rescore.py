"""CTC rescoring (`ctc_rescore=w`): the CTC head arbitrates among the decoder's most likely
sentences (Paraformer's), or among a beam search's finished ones (Nano's LLM).

The accuracy it buys on the test split is in the demos' model cards; here: the likelihood is the
sum over every alignment (checked against enumerating them), the N-best is the exact top of the
decoder's choices, the chosen sentence is the best-scored candidate, a clip the decoder alone gets
wrong comes out right, 0 and a missing head behave as documented, and the captures do not change.
"""

import itertools
import shutil
import threading
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest
from sample_clips import faster

import workbench
from workbench.cli import main as cli_main
from workbench.decoding import DecodingConfig
from workbench.errors import CaptureError, CheckpointError
from workbench.loading import resolve_model_path
from workbench.models.ctc import greedy_ids, sequence_log_likelihoods
from workbench.models.ctc_rescore import decoder_nbest, rescore, rescore_hypotheses

SAMPLES = Path(__file__).parent.parent / "sample_audio"


@pytest.fixture(scope="module")
def pipeline():
    return workbench.load("paraformer-demo")


def _collapse(path):
    out = [t for i, t in enumerate(path) if i == 0 or t != path[i - 1]]
    return tuple(t for t in out if t != 0)


@pytest.mark.parametrize("seed", range(5))
def test_likelihood_sums_every_alignment(seed):
    rng = np.random.default_rng(seed)
    T, V = 5, 4
    logits = rng.standard_normal((T, V)).astype(np.float32) * 2
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    sequences = [[], [1], [1, 1], [2, 3], [1, 2, 1], [3, 3, 3]]
    totals = dict.fromkeys(map(tuple, sequences), 0.0)
    for path in itertools.product(range(V), repeat=T):
        key = _collapse(path)
        if key in totals:
            totals[key] += np.exp(sum(logp[t, k] for t, k in enumerate(path)))
    got = sequence_log_likelihoods(mx.array(logits), sequences)
    np.testing.assert_allclose(got, [np.log(totals[tuple(s)]) for s in sequences], rtol=1e-4)


def test_nbest_is_the_exact_top_of_the_decoders_choices():
    rng = np.random.default_rng(0)
    logprobs = np.log(rng.dirichlet(np.ones(9) * 0.3, size=5))
    got = decoder_nbest(logprobs, top_k=3, beam=10)
    tops = [np.argsort(-row)[:3] for row in logprobs]
    every = sorted(((sum(logprobs[i, t] for i, t in enumerate(ids)), list(ids)) for ids in itertools.product(*tops)),
                   reverse=True)[:10]
    assert [ids for ids, _ in got] == [[int(t) for t in ids] for _, ids in every]
    assert [s for _, s in got] == pytest.approx([s for s, _ in every])
    assert got[0][0] == [int(t) for t in logprobs.argmax(-1)]  # the first is the single pass's


def test_the_choice_is_the_best_total():
    rng = np.random.default_rng(1)
    logprobs = np.log(rng.dirichlet(np.ones(6), size=3))
    ctc_logits = mx.array(rng.standard_normal((12, 6)).astype(np.float32))
    for weight in (0.0, 0.5, 3.0):
        choice = rescore(logprobs, ctc_logits, weight, dropped=(0,))
        nbest = decoder_nbest(logprobs)
        ctc = sequence_log_likelihoods(ctc_logits, [[t for t in ids if t != 0] for ids, _ in nbest])
        totals = [s + weight * c for (_, s), c in zip(nbest, ctc)]
        assert choice["ids"] == nbest[int(np.argmax(totals))][0] and choice["candidates"] == len(nbest)
    assert rescore(logprobs, ctc_logits, 0.0)["rank"] == 0


def test_the_code_switched_clip_spoken_faster_comes_out_right(pipeline):
    # The code-switched clip 15 % faster: the decoder alone writes 班 for 刚 (their syllables differ
    # in the initial only), the CTC head hears 刚 (paraformer-demo's sixteenth run; as recorded,
    # the decoder alone gets the clip right).
    clip = faster("mixed_1.flac", 1.15)
    plain = pipeline.transcribe(clip, sample_rate=16000)
    out = pipeline.transcribe(clip, sample_rate=16000, ctc_rescore=0.3)
    assert plain.text == "我班把report发到你的email了"
    assert out.text == "我刚把report发到你的email了"
    assert out.extra["ctc_rescore"]["rank"] > 0 and out.extra["ctc_rescore"]["candidates"] == 16
    # Same count, same times; each token's score is its decoder log-probability.
    assert [(t.start, t.end) for t in out.tokens] == [(t.start, t.end) for t in plain.tokens]
    assert all(t.logprob <= 0 for t in out.tokens)


@pytest.mark.parametrize("name", ["zh_1.flac", "en_1.flac", "en_2.flac"])
def test_clips_the_decoder_is_sure_of_keep_its_choice(pipeline, name):
    plain = pipeline.transcribe(SAMPLES / name)
    out = pipeline.transcribe(SAMPLES / name, ctc_rescore=0.3)
    assert out.text == plain.text and out.extra["ctc_rescore"]["rank"] == 0
    assert [t.logprob for t in out.tokens] == pytest.approx([t.logprob for t in plain.tokens], abs=1e-6)


def test_captures_and_batching_do_not_change_it(pipeline):
    files = [SAMPLES / n for n in ("mixed_1.flac", "zh_3.flac", "en_1.flac")]
    alone = [pipeline.transcribe(f, ctc_rescore=0.3) for f in files]
    batch = pipeline.transcribe_batch(files, ctc_rescore=0.3)
    assert [r.text for r in batch] == [r.text for r in alone]
    assert [r.extra["ctc_rescore"]["rank"] for r in batch] == [r.extra["ctc_rescore"]["rank"] for r in alone]
    captured = pipeline.transcribe(files[0], ctc_rescore=0.3, capture=["decoder.logits"])
    assert captured.text == alone[0].text
    # The captured logits are the decoder's, the same as in a single pass.
    single = pipeline.transcribe(files[0], capture=["decoder.logits"])
    np.testing.assert_array_equal(captured.captures["decoder.logits"], single.captures["decoder.logits"])


def test_zero_is_upstreams_single_pass_and_silence_is_left_alone(pipeline):
    plain = pipeline.transcribe(SAMPLES / "mixed_1.flac")
    zero = pipeline.transcribe(SAMPLES / "mixed_1.flac", ctc_rescore=0)
    assert zero.text == plain.text and zero.extra == {} == plain.extra
    silent = pipeline.transcribe(np.zeros(16000, np.float32), sample_rate=16000, ctc_rescore=0.3)
    assert silent.tokens == [] and silent.extra == {}


@pytest.mark.parametrize("value", [-0.1, 5.5, True, "0.3"])
def test_out_of_range_is_refused(pipeline, value):
    with pytest.raises(ValueError, match=f"ctc_rescore must be a weight from 0 to 5.0, got {value!r}"):
        pipeline.transcribe(SAMPLES / "en_1.flac", ctc_rescore=value)


def test_a_model_without_a_head_says_so(tmp_path, paraformer_dirs, capsys):
    _, converted = paraformer_dirs("tiny")  # converted from upstream's layout: no CTC head
    pipeline = workbench.load(converted)
    assert pipeline.ctc_head is None
    with pytest.raises(ValueError, match=r"has no CTC head \(ctc_head.safetensors\), which ctc_rescore needs"):
        pipeline.transcribe(SAMPLES / "en_1.flac", ctc_rescore=0.3)
    assert cli_main(["transcribe", str(SAMPLES / "en_1.flac"), "--model", str(converted), "--ctc-rescore", "0.3"]) != 0
    assert "error: --ctc-rescore: mlx has no CTC head (ctc_head.safetensors), which ctc_rescore needs" \
        in capsys.readouterr().err
    # nano-demo without the head it ships.
    nano = tmp_path / "nano-demo"
    shutil.copytree(resolve_model_path("nano-demo"), nano)
    (nano / "ctc_head.safetensors").unlink()
    assert cli_main(["transcribe", str(SAMPLES / "en_1.flac"), "--model", str(nano), "--ctc-rescore", "0.3"]) != 0
    assert "error: --ctc-rescore: nano-demo has no CTC head (ctc_head.safetensors)" in capsys.readouterr().err


def test_a_head_of_the_wrong_shape_is_refused_at_load(tmp_path):
    model = tmp_path / "para"
    shutil.copytree(resolve_model_path("paraformer-demo"), model)
    head = mx.load(str(model / "ctc_head.safetensors"))
    mx.save_safetensors(str(model / "ctc_head.safetensors"), {**head, "ctc_lo.bias": head["ctc_lo.bias"][:-1]})
    with pytest.raises(CheckpointError, match="ctc_lo.bias"):
        workbench.load(model)


def test_a_model_loaded_in_one_thread_rescores_in_another():
    # A server loads models in one thread and transcribes in its workers: the head's weights must
    # be evaluated at load, as the model's are (pipelines/common.py, `materialise`).
    pipeline = workbench.load("paraformer-demo")
    texts = []
    worker = threading.Thread(target=lambda: texts.append(pipeline.transcribe(SAMPLES / "mixed_1.flac",
                                                                              ctc_rescore=0.3).text))
    worker.start()
    worker.join()
    assert texts == ["我刚把report发到你的email了"]


@pytest.fixture(scope="module")
def nano():
    return workbench.load("nano-demo")


def test_nano_the_head_corrects_the_year_its_llm_swaps(nano):
    # zh_3: the LLM alone, greedy or in an 8-wide beam, writes 二零一二 for 二零二一; the beam's
    # second sentence has it right, and the head (trained on nano-demo's frozen encoder) prefers
    # it. The surname stays 何 for 贺: the encoder itself hears 何 (its model card).
    clip = SAMPLES / "zh_3.flac"
    plain = nano.transcribe(clip)
    beam = nano.transcribe(clip, decoding=DecodingConfig(strategy="beam", num_beams=8, n_best=8))
    out = nano.transcribe(clip, ctc_rescore=0.3)
    assert plain.text == beam.text == "何子涵二零一二年去了长沙工作"
    assert out.text == "何子涵二零二一年去了长沙工作"
    assert out.extra["ctc_rescore"] == {"rank": 1, "candidates": 8}
    # The candidates are the beam search's finished sentences, the chosen one's tokens are its own.
    assert [h["text"] for h in out.extra["hypotheses"]] == [h["text"] for h in beam.extra["hypotheses"]]
    assert nano.prompt.decode([t.id for t in out.tokens]) == out.text


def test_nano_the_choice_is_the_best_total(nano):
    # The code-switched clip: an 8-wide beam alone ends "reportroposal"; greedy and rescoring do not.
    clip = SAMPLES / "mixed_1.flac"
    search = nano.transcribe(clip, decoding=DecodingConfig(strategy="beam", num_beams=8, n_best=8))
    assert search.text == "我刚把reportroposal发到你的email了"
    out = nano.transcribe(clip, ctc_rescore=0.3)
    assert out.text == nano.transcribe(clip).text == "我刚把report发到你的email了"
    assert out.extra["ctc_rescore"]["rank"] == 1
    # rescore_hypotheses on hand-made candidates: summed log-probability + w × CTC.
    from workbench.decoding import Hypothesis, StepRecord

    head = nano.ctc_head
    logits = mx.random.normal((30, head.ctc_lo.weight.shape[0]), key=mx.random.key(0))
    blank = head.ctc_lo.weight.shape[0] - 1
    hyps = [Hypothesis(tokens, [StepRecord(t, lp, lp, 0.0, []) for t, lp in zip(tokens + [9], lps)], 0.0, "stop")
            for tokens, lps in (([5, 6], [-0.1, -0.2, -0.1]), ([5, 7, 7], [-0.5, -0.2, -0.3, -0.1]), ([8], [-2, -1]))]
    ctc = sequence_log_likelihoods(logits, [h.tokens for h in hyps], blank)
    for weight in (0.0, 0.3, 3.0):
        totals = [sum(s.logprob for s in h.steps) + weight * c for h, c in zip(hyps, ctc)]
        assert rescore_hypotheses(hyps, logits, weight, blank)["rank"] == int(np.argmax(totals))


def test_nano_silence_beam_width_and_captures(nano):
    silent = nano.transcribe(np.zeros(16000, np.float32), sample_rate=16000, ctc_rescore=0.3)
    assert silent.tokens == [] and "ctc_rescore" not in silent.extra
    # A beam search asked for keeps its width: its sentences are the candidates.
    out = nano.transcribe(SAMPLES / "zh_3.flac", ctc_rescore=0.3, decoding=DecodingConfig(strategy="beam", num_beams=3))
    assert out.extra["ctc_rescore"]["candidates"] == 3
    # The encoder's captures are those of a plain run; per-token ones follow one sequence only.
    captured = nano.transcribe(SAMPLES / "zh_3.flac", ctc_rescore=0.3, capture=["encoder.out"])
    plain = nano.transcribe(SAMPLES / "zh_3.flac", capture=["encoder.out"])
    np.testing.assert_array_equal(captured.captures["encoder.out"], plain.captures["encoder.out"])
    with pytest.raises(CaptureError, match="without CTC rescoring"):
        nano.transcribe(SAMPLES / "zh_3.flac", ctc_rescore=0.3, capture=["llm.logits"])
    with pytest.raises(ValueError, match="ctc_rescore must be a weight from 0 to 5.0"):
        nano.transcribe(SAMPLES / "zh_3.flac", ctc_rescore=6)


def test_the_heads_reading_is_capturable_and_changes_nothing(nano, pipeline, paraformer_dirs):
    # What nano-demo's encoder alone hears in zh_3: 何 for 贺, as the LLM writes (the year right).
    plain = nano.transcribe(SAMPLES / "zh_3.flac")
    out = nano.transcribe(SAMPLES / "zh_3.flac", capture=["ctc.logits", "encoder.out"])
    logits = out.captures["ctc.logits"]
    assert out.text == plain.text
    assert logits.shape == (out.captures["encoder.out"].shape[0], nano.ctc_head.ctc_lo.weight.shape[0])
    assert nano.prompt.decode(greedy_ids(logits, blank=logits.shape[-1] - 1)) == "何子涵二零二一年去了长沙工作"
    # Paraformer's, batched: each clip's frames only, as alone.
    files = [SAMPLES / "en_1.flac", SAMPLES / "zh_3.flac"]
    batch = pipeline.transcribe_batch(files, capture=["ctc.logits", "encoder.out"])
    for f, r in zip(files, batch):
        alone = pipeline.transcribe(f, capture=["ctc.logits"]).captures["ctc.logits"]
        assert r.captures["ctc.logits"].shape[0] == r.captures["encoder.out"].shape[0]
        np.testing.assert_allclose(r.captures["ctc.logits"], alone, atol=1e-4)
    words = "".join(pipeline.tokens[t] for t in greedy_ids(batch[0].captures["ctc.logits"], blank=0))
    assert words.replace("@@", "").startswith("there")
    # A model without a head has no such capture.
    converted = workbench.load(paraformer_dirs("tiny")[1])
    assert "ctc.logits" not in converted.capture_names()
    with pytest.raises(CaptureError):
        converted.transcribe(SAMPLES / "en_1.flac", capture=["ctc.logits"])
