"""Decoding strategies for an autoregressive LLM: greedy, sampling and beam search.

Independent of any model: the model is reduced to `first_logits` (the logits after the prompt
was prefilled) and a `step_fn` that feeds one new token per sequence and returns the next
logits. Every generated token leaves a `StepRecord`, and the way a hypothesis ended is always
reported ("stop", "max_new_tokens" or "loop"), so a truncated or looping transcript — the
typical LLM-ASR failure on silence or music — is never mistaken for a finished one.

Two distributions appear in a record and are kept apart on purpose:
  * the *model* distribution, softmax(logits) at temperature 1 with no penalty or filter: the
    model's own belief, comparable across strategies and settings (`logprob`, `entropy`, `top`);
  * the *sampling* distribution the token was actually chosen from (`sampling_logprob`): after
    the repetition penalty, and for "sample" also temperature, top-k, top-p and min-p. Greedy
    and beam search rank by the penalised distribution at temperature 1 (argmax and beam ranking
    ignore temperature and the sampling filters, which are "sample"-only settings).

Host synchronisation: one per step. The per-step statistics are computed on device and pulled
together with the chosen token(s).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import mlx.core as mx

STRATEGIES = ("greedy", "sample", "beam")


class BeamCache(Protocol):
    """What beam search needs from a model's cache: re-ordering its batch rows.

    `select(indices)` returns a cache whose row i is the old row `indices[i]`; rows may repeat
    (two beams continuing one parent) and the batch may grow (the first expansion from the one
    prefilled sequence to the beams is `select([0, 0, ..., 0])`).
    """

    def select(self, indices: mx.array) -> BeamCache: ...


# step_fn(tokens [B] int32, cache) -> (logits [B, V], cache)
StepFn = Callable[[mx.array, Any], tuple[mx.array, Any]]


@dataclass
class DecodingConfig:
    strategy: str = "greedy"  # "greedy" | "sample" | "beam"
    temperature: float = 1.0  # sample only
    top_k: int = 0  # sample only; 0 = off
    top_p: float = 1.0  # sample only; 1.0 = off
    min_p: float = 0.0  # sample only; 0 = off
    # CTRL / HF definition, all strategies. Applies to tokens already *generated* in this
    # hypothesis only, never to the prompt: an ASR prompt is audio + instruction, and penalising
    # its tokens would bias the transcript against words that merely appear in the instruction.
    repetition_penalty: float = 1.0
    num_beams: int = 4  # beam only
    length_penalty: float = 1.0  # beam only: score = sum_logprob / len**length_penalty (HF)
    n_best: int = 1  # beam only: how many hypotheses to return
    max_new_tokens: int = 512  # counts the stop token's step too
    stop_tokens: tuple[int, ...] = ()
    seed: int | None = None  # sample only; None = nondeterministic
    record_top_k: int = 5  # alternatives kept in each StepRecord
    loop_max_period: int = 8  # loop = a block of 1..loop_max_period tokens repeated
    loop_min_repeats: int = 4  # at least this many times back to back at the end of the output
    stop_on_loop: bool = False

    def validate(self) -> None:
        def check(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(f"decoding config: {message}")

        check(self.strategy in STRATEGIES, f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.strategy == "sample":
            check(math.isfinite(self.temperature) and self.temperature > 0,
                  f"temperature must be > 0 for sampling (use strategy='greedy' for argmax), got {self.temperature}")
        check(self.top_k >= 0, f"top_k must be >= 0 (0 = off), got {self.top_k}")
        check(0 < self.top_p <= 1, f"top_p must be in (0, 1] (1 = off), got {self.top_p}")
        check(0 <= self.min_p <= 1, f"min_p must be in [0, 1] (0 = off), got {self.min_p}")
        check(math.isfinite(self.repetition_penalty) and self.repetition_penalty > 0,
              f"repetition_penalty must be > 0 (1 = off), got {self.repetition_penalty}")
        check(self.num_beams >= 1, f"num_beams must be >= 1, got {self.num_beams}")
        check(math.isfinite(self.length_penalty), f"length_penalty must be finite, got {self.length_penalty}")
        check(1 <= self.n_best <= self.num_beams,
              f"n_best must be in [1, num_beams={self.num_beams}], got {self.n_best}")
        check(self.max_new_tokens >= 1, f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        check(all(isinstance(t, int) and t >= 0 for t in self.stop_tokens),
              f"stop_tokens must be non-negative token ids, got {self.stop_tokens!r}")
        check(self.record_top_k >= 0, f"record_top_k must be >= 0, got {self.record_top_k}")
        check(self.loop_max_period >= 1, f"loop_max_period must be >= 1, got {self.loop_max_period}")
        check(self.loop_min_repeats >= 2, f"loop_min_repeats must be >= 2, got {self.loop_min_repeats}")


@dataclass
class StepRecord:
    """One generated token. A hypothesis that ended on a stop token has that token's record as
    its last step (its probability is how sure the model was that the text is complete)."""

    token: int
    logprob: float  # log p(token) under the model distribution (temperature 1, no penalty/filter)
    sampling_logprob: float  # log p(token) under the distribution it was chosen from
    entropy: float  # entropy (nats) of the model distribution at this step
    top: list[tuple[int, float]]  # record_top_k most probable (id, prob), model distribution, best first


@dataclass
class Hypothesis:
    tokens: list[int]  # generated ids, stop token excluded
    steps: list[StepRecord]  # one per generated token, the stop token's step included
    # greedy/sample: sum of step logprobs (model distribution), stop step included.
    # beam: sum of sampling_logprobs (what the search ranks by) / len(steps)**length_penalty.
    score: float
    finish_reason: str  # "stop" | "max_new_tokens" | "loop"
    loop: tuple[int, int] | None = None  # (start index in tokens, period) of the first loop seen


@dataclass
class DecodeResult:
    hypotheses: list[Hypothesis] = field(default_factory=list)  # best first

    @property
    def best(self) -> Hypothesis:
        return self.hypotheses[0]


def find_loop(tokens: list[int], max_period: int, min_repeats: int) -> tuple[int, int] | None:
    """(start, period) if the tail of `tokens` is a block of 1..max_period tokens repeated at
    least `min_repeats` times back to back, else None. The smallest such period wins, and the
    start is extended backwards over any partial repeat, so it points at where the loop began."""
    n = len(tokens)
    for period in range(1, max_period + 1):
        span = period * min_repeats
        if span > n:
            break
        if all(tokens[j] == tokens[j - period] for j in range(n - span + period, n)):
            start = n - span
            while start > 0 and tokens[start - 1] == tokens[start - 1 + period]:
                start -= 1
            return start, period
    return None


def generate(step_fn: StepFn, first_logits: mx.array, config: DecodingConfig, *, cache: Any = None) -> DecodeResult:
    """Decode from the logits after prefill. Greedy and sample run one sequence (B = 1); beam
    search runs up to `num_beams` and re-orders `cache` through `BeamCache.select` (a None cache
    means a stateless step_fn and is passed through as is)."""
    config.validate()
    logits = first_logits.astype(mx.float32).reshape(1, -1)
    if config.strategy == "beam":
        if cache is not None and not callable(getattr(cache, "select", None)):
            raise TypeError("beam search needs a cache with a select(indices) method (see BeamCache)")
        return _beam(step_fn, logits, config, cache)
    return _single(step_fn, logits, config, cache)


# --- device-side pieces -------------------------------------------------------------------------


def _log_softmax(logits: mx.array) -> mx.array:
    return logits - mx.logsumexp(logits, axis=-1, keepdims=True)


def _penalise(logits: mx.array, seen: mx.array | None, penalty: float) -> mx.array:
    """CTRL repetition penalty on the ids marked in `seen` [B, V]: shrink positive logits,
    push negative ones further down, so a seen token always becomes less likely."""
    if seen is None:
        return logits
    return mx.where(seen, mx.where(logits > 0, logits / penalty, logits * penalty), logits)


def _filter(logits: mx.array, cfg: DecodingConfig) -> mx.array:
    """Temperature, then top-k, top-p, min-p (HF order); removed tokens get -inf."""
    logits = logits / cfg.temperature
    if 0 < cfg.top_k < logits.shape[-1]:
        kth = mx.topk(logits, cfg.top_k, axis=-1).min(axis=-1, keepdims=True)
        logits = mx.where(logits < kth, -mx.inf, logits)
    if cfg.top_p < 1.0:
        ordered = -mx.sort(-logits, axis=-1)
        probs = mx.softmax(ordered, axis=-1)
        # A token stays while the mass ranked above it is still short of top_p: this keeps the
        # smallest prefix reaching top_p, and always the first token (mass above it is 0).
        n_keep = ((mx.cumsum(probs, axis=-1) - probs) < cfg.top_p).sum(axis=-1, keepdims=True)
        threshold = mx.take_along_axis(ordered, n_keep - 1, axis=-1)
        logits = mx.where(logits < threshold, -mx.inf, logits)
    if cfg.min_p > 0:
        probs = mx.softmax(logits, axis=-1)
        logits = mx.where(probs < cfg.min_p * probs.max(axis=-1, keepdims=True), -mx.inf, logits)
    return logits


def _model_stats(logits: mx.array, k: int) -> tuple[mx.array, mx.array, mx.array, mx.array]:
    """Model log-probs [B, V], entropy [B], and the k most probable ids / probs [B, k], best first."""
    logp = _log_softmax(logits)
    probs = mx.exp(logp)
    entropy = -mx.where(probs > 0, probs * logp, 0.0).sum(axis=-1)  # 0·log 0 = 0 for masked ids
    k = min(k, logits.shape[-1])
    if k == 0:
        ids = mx.zeros((logits.shape[0], 0), mx.int32)
    else:  # partial selection, then sort only the k survivors
        ids = mx.argpartition(-logp, kth=k - 1, axis=-1)[:, :k]
        ids = mx.take_along_axis(ids, mx.argsort(-mx.take_along_axis(logp, ids, axis=-1), axis=-1), axis=-1)
    return logp, entropy, ids, mx.take_along_axis(probs, ids, axis=-1)


def _mark(seen: mx.array | None, tokens: mx.array) -> mx.array | None:
    if seen is None:
        return None
    return seen | (mx.arange(seen.shape[-1])[None, :] == tokens[:, None])


def _record(token: int, logprob: float, sampling_logprob: float, entropy: float, ids: list, probs: list) -> StepRecord:
    return StepRecord(token, logprob, sampling_logprob, entropy, list(zip(ids, probs)))


# --- greedy and sampling ------------------------------------------------------------------------


def _single(step_fn: StepFn, logits: mx.array, cfg: DecodingConfig, cache: Any) -> DecodeResult:
    sample = cfg.strategy == "sample"
    key = mx.random.key(cfg.seed if cfg.seed is not None else secrets.randbits(63)) if sample else None
    seen = mx.zeros(logits.shape, mx.bool_) if cfg.repetition_penalty != 1.0 else None
    tokens: list[int] = []
    steps: list[StepRecord] = []
    loop = None
    reason = "max_new_tokens"
    for i in range(cfg.max_new_tokens):
        logp, entropy, top_ids, top_probs = _model_stats(logits, cfg.record_top_k)
        scores = _penalise(logits, seen, cfg.repetition_penalty)
        if sample:
            scores = _filter(scores, cfg)
            key, sub = mx.random.split(key)
            token = mx.random.categorical(scores, key=sub).astype(mx.int32)
        else:
            token = mx.argmax(scores, axis=-1).astype(mx.int32)
        chosen = token[:, None]
        lp = mx.take_along_axis(logp, chosen, axis=-1)
        slp = mx.take_along_axis(_log_softmax(scores), chosen, axis=-1)
        mx.eval(token, lp, slp, entropy, top_ids, top_probs)  # the one sync of this step
        t = token.item()
        steps.append(_record(t, lp.item(), slp.item(), entropy.item(), top_ids[0].tolist(), top_probs[0].tolist()))
        if t in cfg.stop_tokens:
            reason = "stop"
            break
        tokens.append(t)
        if loop is None:
            loop = find_loop(tokens, cfg.loop_max_period, cfg.loop_min_repeats)
            if loop is not None and cfg.stop_on_loop:
                reason = "loop"
                break
        if i + 1 < cfg.max_new_tokens:  # no model call for a token that will never be used
            seen = _mark(seen, token)
            logits, cache = step_fn(token, cache)
            logits = logits.astype(mx.float32)
    score = sum(s.logprob for s in steps)
    return DecodeResult([Hypothesis(tokens, steps, score, reason, loop)])


# --- beam search --------------------------------------------------------------------------------


@dataclass
class _Beam:
    tokens: list[int]
    steps: list[StepRecord]
    sum_logprob: float  # sum of sampling_logprobs: what the search ranks by
    loop: tuple[int, int] | None


def _beam(step_fn: StepFn, logits: mx.array, cfg: DecodingConfig, cache: Any) -> DecodeResult:
    """HF-style beam search (early_stopping=False heuristic).

    Each step ranks every (beam, token) continuation by the beam's summed log-prob plus the
    token's penalised log-prob and looks at the best 2·num_beams, so that num_beams live beams
    survive even if some candidates end. A candidate that ends (stop token, or a new loop with
    stop_on_loop) becomes a finished hypothesis only if it ranks among the first num_beams; the
    best num_beams finished hypotheses are kept. Search ends when no live beam is left, or when
    num_beams hypotheses are finished and the best live beam, scored at its current length,
    cannot beat the worst of them; live beams are then dropped. At max_new_tokens the live beams
    join the finished ones with finish_reason "max_new_tokens".
    """
    nb, lp_exp = cfg.num_beams, cfg.length_penalty
    vocab = logits.shape[-1]
    seen = mx.zeros(logits.shape, mx.bool_) if cfg.repetition_penalty != 1.0 else None
    live = [_Beam([], [], 0.0, None)]
    finished: list[Hypothesis] = []

    def finish(beam: _Beam, reason: str) -> None:
        score = beam.sum_logprob / len(beam.steps) ** lp_exp
        finished.append(Hypothesis(beam.tokens, beam.steps, score, reason, beam.loop))
        finished.sort(key=lambda h: h.score, reverse=True)
        del finished[nb:]

    for i in range(cfg.max_new_tokens):
        logp, entropy, top_ids, top_probs = _model_stats(logits, cfg.record_top_k)
        search = _log_softmax(_penalise(logits, seen, cfg.repetition_penalty))
        total = (mx.array([b.sum_logprob for b in live])[:, None] + search).reshape(-1)
        n_cand = min(2 * nb, total.size)
        cand = mx.argpartition(-total, kth=n_cand - 1)[:n_cand] if n_cand < total.size else mx.arange(total.size)
        cand = cand[mx.argsort(-total[cand])]
        cand_lp, cand_slp = logp.reshape(-1)[cand], search.reshape(-1)[cand]
        mx.eval(cand, cand_lp, cand_slp, entropy, top_ids, top_probs)  # the one sync of this step
        ents, ids, probs = entropy.tolist(), top_ids.tolist(), top_probs.tolist()

        next_live: list[_Beam] = []
        parents: list[int] = []
        for rank, (c, lp, slp) in enumerate(zip(cand.tolist(), cand_lp.tolist(), cand_slp.tolist())):
            row, t = divmod(c, vocab)
            parent = live[row]
            beam = _Beam(parent.tokens, parent.steps + [_record(t, lp, slp, ents[row], ids[row], probs[row])],
                         parent.sum_logprob + slp, parent.loop)
            if t in cfg.stop_tokens:
                if rank < nb:
                    finish(beam, "stop")
                continue
            beam.tokens = parent.tokens + [t]
            if beam.loop is None:
                beam.loop = find_loop(beam.tokens, cfg.loop_max_period, cfg.loop_min_repeats)
                if beam.loop is not None and cfg.stop_on_loop:
                    if rank < nb:
                        finish(beam, "loop")
                    continue
            next_live.append(beam)
            parents.append(row)
            if len(next_live) == nb:
                break

        if not next_live:
            break
        if len(finished) >= nb:
            best_live = max(b.sum_logprob / len(b.steps) ** lp_exp for b in next_live)
            if best_live <= finished[-1].score:
                break
        if i + 1 == cfg.max_new_tokens:
            for beam in next_live:
                finish(beam, "max_new_tokens")
            break
        index = mx.array(parents, dtype=mx.int32)
        tokens = mx.array([b.tokens[-1] for b in next_live], dtype=mx.int32)
        seen = _mark(seen[index], tokens) if seen is not None else None
        if cache is not None:
            cache = cache.select(index)
        logits, cache = step_fn(tokens, cache)
        logits = logits.astype(mx.float32)
        live = next_live
    return DecodeResult(finished[: cfg.n_best])
