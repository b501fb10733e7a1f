"""Decoding strategies against toy Markov "models" whose answers can be worked out by hand."""

import itertools

import mlx.core as mx
import numpy as np
import pytest

from workbench.decoding import DecodingConfig, find_loop, generate

V = 50


class HistoryCache:
    """Holds each sequence's generated tokens; `select` re-orders rows and logs the indices."""

    def __init__(self, history: np.ndarray, log: list):
        self.history, self.log = history, log

    def select(self, indices: mx.array) -> "HistoryCache":
        idx = np.array(indices)
        self.log.append(idx.tolist())
        return HistoryCache(self.history[idx], self.log)


def toy_model(table: np.ndarray, first: np.ndarray, second: np.ndarray | None = None):
    """logits = table[last] (+ second[previous] when given, which only a correctly re-ordered
    cache can supply). Returns (step_fn, first_logits, fresh cache factory)."""

    def step_fn(tokens, cache):
        toks = np.array(tokens)
        assert toks.shape == (cache.history.shape[0],), "cache rows must match the batch"
        hist = np.concatenate([cache.history, toks[:, None]], axis=1)
        logits = table[toks]
        if second is not None and hist.shape[1] >= 2:
            logits = logits + second[hist[:, -2]]
        return mx.array(logits.astype(np.float32)), HistoryCache(hist, cache.log)

    return step_fn, mx.array(first.astype(np.float32)), lambda: HistoryCache(np.zeros((1, 0), np.int64), [])


def random_model(seed: int, vocab: int = V, scale: float = 3.0, second: bool = False):
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((vocab, vocab)) * scale
    first = rng.standard_normal(vocab) * scale
    return toy_model(table, first, rng.standard_normal((vocab, vocab)) * scale if second else None)


def run(model, **kw):
    step_fn, first, new_cache = model
    return generate(step_fn, first, DecodingConfig(**kw), cache=new_cache())


def log_softmax(x):
    x = np.asarray(x, np.float64)
    return x - np.log(np.exp(x - x.max()).sum()) - x.max()


def model_logits(model, tokens):
    """The logits the toy model produced before each generated token (first-order tables)."""
    step_fn, first, new_cache = model
    out, cache = [np.array(first)], new_cache()
    for t in tokens:
        logits, cache = step_fn(mx.array([t], dtype=mx.int32), cache)
        out.append(np.array(logits[0]))
    return out


# --- greedy, records, stop and truncation -------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_greedy_records_match_hand_computation(seed):
    model = random_model(seed)
    hyp = run(model, max_new_tokens=12, record_top_k=7).best
    assert len(hyp.tokens) == len(hyp.steps) == 12 and hyp.finish_reason == "max_new_tokens"
    for step, logits in zip(hyp.steps, model_logits(model, hyp.tokens)):
        lp = log_softmax(logits)
        p = np.exp(lp)
        assert step.token == int(np.argmax(logits))
        assert step.logprob == pytest.approx(lp[step.token], abs=1e-5)
        assert step.sampling_logprob == pytest.approx(lp[step.token], abs=1e-5)  # no penalty: same
        assert step.entropy == pytest.approx(-(p * lp).sum(), abs=1e-4)
        assert len(step.top) == 7
        assert [i for i, _ in step.top] == list(np.argsort(-lp)[:7])
        probs = [q for _, q in step.top]
        assert probs == sorted(probs, reverse=True)
        np.testing.assert_allclose(probs, np.sort(p)[::-1][:7], rtol=1e-5)
    assert hyp.score == pytest.approx(sum(s.logprob for s in hyp.steps))


def test_stop_token_ends_hypothesis_and_is_recorded_but_not_returned():
    table = np.zeros((V, V))
    table[3, 4] = table[4, 7] = 10.0  # 3 -> 4 -> 7(stop)
    first = np.zeros(V)
    first[3] = 10.0
    model = toy_model(table, first)
    for strategy in ("greedy", "beam"):
        hyp = run(model, strategy=strategy, stop_tokens=(7,), max_new_tokens=50).best
        assert hyp.tokens == [3, 4] and hyp.finish_reason == "stop"
        assert [s.token for s in hyp.steps] == [3, 4, 7]
    # The stop token arriving exactly on the last allowed step is still a stop, not a truncation.
    assert run(model, stop_tokens=(7,), max_new_tokens=3).best.finish_reason == "stop"
    assert run(model, stop_tokens=(7,), max_new_tokens=2).best.finish_reason == "max_new_tokens"


# --- loops --------------------------------------------------------------------------------------


def alternating_model(prefix: bool):
    table = np.zeros((V, V))
    table[1, 2] = table[2, 1] = 5.0  # A -> B -> A -> ...
    table[9, 1] = 5.0
    first = np.zeros(V)
    first[9 if prefix else 1] = 5.0
    return toy_model(table, first)


def test_greedy_loop_is_detected_and_truncation_reported():
    hyp = run(alternating_model(prefix=False), max_new_tokens=20, stop_tokens=(0,)).best
    assert hyp.tokens == [1, 2] * 10
    assert hyp.finish_reason == "max_new_tokens" and hyp.loop == (0, 2)


@pytest.mark.parametrize("strategy", ["greedy", "beam"])
def test_stop_on_loop(strategy):
    hyp = run(alternating_model(prefix=True), strategy=strategy, max_new_tokens=50, stop_on_loop=True).best
    assert hyp.finish_reason == "loop" and hyp.loop == (1, 2)
    assert hyp.tokens == [9] + [1, 2] * 4


def test_find_loop():
    assert find_loop([1, 2, 3] * 3, 8, 4) is None
    assert find_loop([1, 2, 3] * 4, 8, 4) == (0, 3)
    assert find_loop([5, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3], 8, 4) == (1, 3)  # partial repeat before
    assert find_loop([4, 4, 4, 4], 8, 4) == (0, 1)  # smallest period wins
    assert find_loop([4, 4, 4], 8, 4) is None
    assert find_loop([1, 2, 1, 2, 1, 2, 1, 3], 8, 4) is None


# --- beam search --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_beam_width_one_is_greedy(seed, penalty):
    model = random_model(seed, scale=1.0)
    kw = dict(max_new_tokens=30, stop_tokens=(0, 1), repetition_penalty=penalty)
    greedy = run(model, **kw).best
    beam = run(model, strategy="beam", num_beams=1, **kw).best
    assert beam.tokens == greedy.tokens and beam.finish_reason == greedy.finish_reason
    assert [s.token for s in beam.steps] == [s.token for s in greedy.steps]
    np.testing.assert_allclose([s.logprob for s in beam.steps], [s.logprob for s in greedy.steps], atol=1e-6)
    np.testing.assert_allclose([s.sampling_logprob for s in beam.steps],
                               [s.sampling_logprob for s in greedy.steps], atol=1e-6)


def test_beam_beats_myopic_greedy():
    table = np.zeros((V, V))  # after 1: flat over all V tokens; after 2: token 3 almost surely
    table[2, 3] = 20.0
    first = np.full(V, -20.0)
    first[1], first[2] = np.log(0.6), np.log(0.4)
    model = toy_model(table, first)
    greedy = run(model, max_new_tokens=2).best
    beam = run(model, strategy="beam", num_beams=4, length_penalty=0.0, max_new_tokens=2).best
    assert greedy.tokens[0] == 1 and beam.tokens == [2, 3]
    assert beam.score == pytest.approx(sum(s.logprob for s in beam.steps))  # length_penalty 0: plain sum
    assert beam.score > greedy.score + 1.0


@pytest.mark.parametrize("seed", range(3))
def test_wide_beam_is_exhaustive_search_and_reorders_cache(seed):
    # Second-order model: the logits depend on the token two back, which only the cache knows,
    # so a wrongly re-ordered cache changes the scores. num_beams >= V**(L-1) makes beam exact.
    vocab, length = 4, 3
    model = random_model(seed, vocab=vocab, scale=2.0, second=True)
    step_fn, first, new_cache = model
    cache = new_cache()
    res = generate(step_fn, first, DecodingConfig(strategy="beam", num_beams=16, n_best=3, length_penalty=0.0,
                                                  max_new_tokens=length), cache=cache)
    rng = np.random.default_rng(seed)
    table, first_np, second = (rng.standard_normal((vocab, vocab)) * 2, rng.standard_normal(vocab) * 2,
                               rng.standard_normal((vocab, vocab)) * 2)
    scores = {}
    for seq in itertools.product(range(vocab), repeat=length):
        a, b, c = seq
        scores[seq] = (log_softmax(first_np)[a] + log_softmax(table[a])[b]
                       + log_softmax(table[b] + second[a])[c])
    expected = sorted(scores, key=scores.get, reverse=True)[:3]
    assert [tuple(h.tokens) for h in res.hypotheses] == expected
    for h in res.hypotheses:
        assert h.score == pytest.approx(scores[tuple(h.tokens)], abs=1e-4)
        assert h.finish_reason == "max_new_tokens" and len(h.steps) == length
    assert cache.log[0] == [0] * vocab  # first expansion: the one prefilled row, copied per beam


def test_beam_returns_n_best_sorted_with_length_penalty():
    model = random_model(7, scale=1.0)
    res = run(model, strategy="beam", num_beams=5, n_best=4, stop_tokens=(0, 1, 2, 3, 4), max_new_tokens=40)
    assert len(res.hypotheses) == 4
    scores = [h.score for h in res.hypotheses]
    assert scores == sorted(scores, reverse=True)
    for h in res.hypotheses:
        raw = sum(s.sampling_logprob for s in h.steps)
        assert h.score == pytest.approx(raw / len(h.steps), abs=1e-5)


# --- sampling -----------------------------------------------------------------------------------


def test_same_seed_same_sample_different_seed_differs():
    model = random_model(1, scale=0.5)
    a = run(model, strategy="sample", seed=123, max_new_tokens=30).best
    b = run(model, strategy="sample", seed=123, max_new_tokens=30).best
    c = run(model, strategy="sample", seed=124, max_new_tokens=30).best
    assert a.tokens == b.tokens and a.steps == b.steps
    assert a.tokens != c.tokens


@pytest.mark.parametrize("filters", [dict(top_k=1), dict(top_p=1e-6)])
def test_degenerate_filters_are_greedy(filters):
    model = random_model(2, scale=1.0)
    greedy = run(model, max_new_tokens=20).best
    for seed in range(5):
        sampled = run(model, strategy="sample", seed=seed, temperature=1.5, max_new_tokens=20, **filters).best
        assert sampled.tokens == greedy.tokens
        assert all(s.sampling_logprob == pytest.approx(0.0, abs=1e-6) for s in sampled.steps)


def test_min_p_keeps_only_tokens_above_threshold():
    model = random_model(3, scale=2.0)
    min_p = 0.2
    for seed in range(30):
        hyp = run(model, strategy="sample", seed=seed, min_p=min_p, max_new_tokens=5).best
        for step, logits in zip(hyp.steps, model_logits(model, hyp.tokens)):
            p = np.exp(log_softmax(logits))
            allowed = p >= min_p * p.max()
            assert allowed[step.token]
            assert step.sampling_logprob == pytest.approx(np.log(p[step.token] / p[allowed].sum()), abs=1e-5)


def test_top_p_keeps_smallest_nucleus():
    first = np.log(np.array([0.5, 0.3, 0.15, 0.05] + [1e-9] * (V - 4)))
    model = toy_model(np.zeros((V, V)), first)
    seen = {run(model, strategy="sample", seed=s, top_p=0.75, max_new_tokens=1).best.tokens[0] for s in range(60)}
    assert seen == {0, 1}  # 0.5 < 0.75 <= 0.8: the nucleus is {0, 1}


# --- repetition penalty -------------------------------------------------------------------------


def test_repetition_penalty_changes_repeated_choice_and_matches_hand_value():
    table = np.full((V, V), -5.0)
    table[5, 5], table[5, 6] = 2.0, 1.5  # 5 prefers itself, narrowly
    table[6, 5], table[6, 6] = -1.0, -1.2  # negative logits: penalty multiplies
    first = np.full(V, -5.0)
    first[5] = 3.0
    model = toy_model(table, first)
    assert run(model, max_new_tokens=3).best.tokens == [5, 5, 5]
    hyp = run(model, max_new_tokens=3, repetition_penalty=1.5).best
    # Step 2: logit of 5 is 2.0/1.5 = 1.33 < 1.5, so 6. Step 3 after 6: 5 and 6 were both
    # generated: -1.0*1.5 = -1.5 vs -1.2*1.5 = -1.8, so 5.
    assert hyp.tokens == [5, 6, 5]
    penalised = table[5].copy()
    penalised[5] /= 1.5
    assert hyp.steps[1].sampling_logprob == pytest.approx(log_softmax(penalised)[6], abs=1e-5)
    assert hyp.steps[1].logprob == pytest.approx(log_softmax(table[5])[6], abs=1e-5)  # model dist unpenalised
    penalised = table[6].copy()
    penalised[[5, 6]] *= 1.5
    assert hyp.steps[2].sampling_logprob == pytest.approx(log_softmax(penalised)[5], abs=1e-5)


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [
    dict(strategy="nucleus"),
    dict(strategy="sample", temperature=0.0),
    dict(top_k=-1),
    dict(top_p=0.0),
    dict(top_p=1.5),
    dict(min_p=-0.1),
    dict(repetition_penalty=0.0),
    dict(num_beams=0),
    dict(num_beams=2, n_best=3),
    dict(max_new_tokens=0),
    dict(stop_tokens=(-1,)),
    dict(record_top_k=-1),
    dict(loop_min_repeats=1),
    dict(loop_max_period=0),
])
def test_validation(bad):
    with pytest.raises(ValueError, match="decoding config"):
        DecodingConfig(**bad).validate()
    step_fn, first, new_cache = random_model(0)
    with pytest.raises(ValueError):
        generate(step_fn, first, DecodingConfig(**bad), cache=new_cache())


def test_beam_rejects_cache_without_select():
    step_fn, first, _ = random_model(0)
    with pytest.raises(TypeError, match="select"):
        generate(step_fn, first, DecodingConfig(strategy="beam"), cache=object())
