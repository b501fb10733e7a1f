"""Count search (`count_search=k`): the decoder picks among CIF's count and its neighbours.

The accuracy it buys on the held-out test split is in paraformer-demo's model card; here: the
rescaled alphas fire exactly the asked count, the chosen count is the best-scored candidate and
its transcript is that candidate's, batching changes nothing, and 0 is upstream's single pass.
"""

from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

import workbench
from workbench.models.cif import fire_positions, integrate_and_fire, rescale_alphas

SAMPLES = Path(__file__).parent.parent / "sample_audio"
CLIPS = ["en_1.flac", "unseen_voice_en.flac", "zh_3.flac", "mixed_1.flac"]


@pytest.fixture(scope="module")
def pipeline():
    return workbench.load("paraformer-demo")


@pytest.mark.parametrize("seed", range(30))
def test_rescaled_alphas_fire_exactly_the_asked_count(seed):
    rng = np.random.default_rng(seed)
    T = int(rng.integers(1, 400))
    alphas = np.where(rng.random(T) < 0.3, rng.uniform(0, 0.05, T), rng.uniform(0.05, 0.99, T)).astype(np.float32)
    hidden = mx.array(rng.standard_normal((T, 8)).astype(np.float32))
    natural = int(alphas.sum())
    for count in sorted({1, max(1, natural - 1), max(1, natural), natural + 1, natural + 3}):
        scaled = rescale_alphas(alphas, count)
        assert fire_positions(scaled)[2] == count
        assert integrate_and_fire(hidden, scaled)[0].shape[0] == count
        # Only the scale changes: where the weight lies, and so where tokens fire, follows the predictor.
        np.testing.assert_allclose(scaled / scaled.sum(), alphas / alphas.sum(), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", CLIPS)
def test_the_chosen_count_is_the_best_scored_candidate(pipeline, name):
    plain = pipeline.transcribe(SAMPLES / name)
    out = pipeline.transcribe(SAMPLES / name, count_search=1)
    n0, scores = out.extra["cif_count"], out.extra["count_scores"]
    assert n0 == len(plain.tokens)  # the demo vocabulary's specials never win a position here
    assert sorted(scores) == [n0 - 1, n0, n0 + 1]
    chosen = max(scores, key=scores.get)
    assert len(out.tokens) == chosen
    # The transcript is the chosen candidate's decoding: its tokens' mean log-probability is the score.
    assert np.mean([t.logprob for t in out.tokens]) == pytest.approx(scores[chosen], abs=1e-4)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(out.tokens, out.tokens[1:]))
    assert out.tokens[-1].end <= out.duration + 0.06


def test_captured_weights_are_the_ones_the_tokens_came_from(pipeline):
    # What the app plots: the captured alphas must integrate to the chosen count, fire where the
    # tokens end, and leave the outputs as they are without captures.
    out = pipeline.transcribe(SAMPLES / "en_1.flac", count_search=1, capture=["predictor.*"])
    alphas, fires = out.captures["predictor.alphas"], out.captures["predictor.fires"]
    assert len(fires) == len(out.tokens) == fire_positions(alphas)[2]
    assert [t.end for t in out.tokens] == pytest.approx([(f + 1) * pipeline.frame_seconds for f in fires])
    assert out.text == pipeline.transcribe(SAMPLES / "en_1.flac", count_search=1).text


def test_count_search_in_a_batch_equals_each_clip_alone(pipeline):
    files = [SAMPLES / name for name in CLIPS]
    batch = pipeline.transcribe_batch(files, count_search=1)
    for file, together in zip(files, batch):
        alone = pipeline.transcribe(file, count_search=1)
        assert together.text == alone.text
        assert together.extra["count_scores"] == pytest.approx(alone.extra["count_scores"], abs=1e-4)


def test_zero_is_upstreams_single_pass(pipeline):
    plain = pipeline.transcribe(SAMPLES / "en_1.flac")
    zero = pipeline.transcribe(SAMPLES / "en_1.flac", count_search=0)
    assert zero.text == plain.text and zero.extra == {} == plain.extra
    assert [t.logprob for t in zero.tokens] == [t.logprob for t in plain.tokens]


def test_silence_tries_no_count(pipeline):
    out = pipeline.transcribe(np.zeros(16000, np.float32), sample_rate=16000, count_search=2)
    assert out.tokens == [] and out.extra["count_scores"] == {}


@pytest.mark.parametrize("value", [-1, 4, 1.5])
def test_out_of_range_is_refused(pipeline, value):
    with pytest.raises(ValueError, match=f"count_search must be an integer from 0 to 3, got {value}"):
        pipeline.transcribe(SAMPLES / "en_1.flac", count_search=value)
