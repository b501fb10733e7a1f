"""Training objective for Paraformer: cross-entropy after a glancing pass, plus CIF's quantity loss.

As upstream (funasr Paraformer.forward): during training the CIF weights are rescaled so they
sum to the reference token count (the decoder then always sees the right number of acoustic
embeddings), an L1 "quantity" loss teaches the unscaled weights to sum to that count, and a
glancing sampler replaces a share of the acoustic embeddings with the true tokens' embeddings
— more of them the more tokens the first, gradient-free decoder pass got wrong.

One addition of ours (`align_weight`, off unless asked for): where the corpus knows when each
word starts (the synthesiser's word events, English), the running sum of the unscaled weights at
that moment should equal the number of tokens of the words before it. The quantity loss only
sees the total, and the demo's English counts showed what that leaves: weights that follow the
speaking rate rather than the words (slow speech over-counted, quick speech under-counted).
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ..frontend import CMVN, FrontendConf
from ..models.ctc import CTC, ctc_loss
from ..models.paraformer import Paraformer
from ..pipelines.common import pad_stack as pad
from .data import Example

IGNORE = -1


def cif_weights(alphas: mx.array, n_tokens: int) -> mx.array:
    """W[b,k,t]: how much of frame t's weight goes to token k — the share of [P_{t-1}, P_t] that
    falls into [k, k+1), P being the running sum. W @ hidden is integrate-and-fire (threshold 1),
    written so gradients reach every alpha."""
    total = mx.cumsum(alphas, axis=1)[:, None, :]
    before = total - alphas[:, None, :]
    k = mx.arange(n_tokens, dtype=alphas.dtype)[None, :, None]
    return nn.relu(mx.minimum(total, k + 1) - mx.maximum(before, k))


def word_start_targets(example: Example, encode, conf: FrontendConf = FrontendConf()) -> tuple[list[int], list[int]]:
    """For each word of `example` with a known start: the number of LFR frames before that start
    and the number of tokens before that word. Empty without word timings."""
    if not example.word_starts:
        return [], []
    frames, before, tokens = [], [], 0
    for word, start in zip(example.text.split(), example.word_starts):
        if start is not None:
            frames.append(min(conf.frames_before(start), len(example.features)))
            before.append(tokens)
        tokens += len(encode(word))
    return frames, before


def make_batch(examples: list[Example], idx: list[int], targets: list[list[int]], cmvn: CMVN,
               word_starts: list[tuple[list[int], list[int]]] | None = None) -> dict:
    """Padded model inputs for the examples `idx`; with `word_starts` (`word_start_targets` of
    every example) also each word's frame and tokens-before, masked where there are none."""
    feats = [cmvn(examples[i].features) for i in idx]
    ys = [np.array(targets[i], dtype=np.int32) for i in idx]
    batch = {
        "feats": mx.array(pad(feats)),
        "feat_lens": mx.array([len(f) for f in feats]),
        "targets": mx.array(pad(ys, IGNORE)),
        "target_lens": mx.array([len(y) for y in ys]),
    }
    if word_starts is not None:
        frames = [np.array(word_starts[i][0], dtype=np.int32) for i in idx]
        before = [np.array(word_starts[i][1], dtype=np.float32) for i in idx]
        batch["word_frames"] = mx.array(pad(frames, 0)) if max(map(len, frames)) else mx.zeros((len(idx), 1), mx.int32)
        batch["words_before"] = mx.array(pad(before, -1.0)) if max(map(len, before)) else -mx.ones((len(idx), 1))
    return batch


def word_start_loss(alphas: mx.array, frames: mx.array, before: mx.array) -> mx.array:
    """Mean |running sum of the weights over the frames before a word − tokens before it| over the
    words with a known start (`before` is -1 at padding)."""
    running = mx.cumsum(alphas, axis=1)
    at = mx.take_along_axis(running, mx.maximum(frames - 1, 0), axis=1) * (frames > 0)
    known = before >= 0
    return (mx.abs(at - before) * known).sum() / mx.maximum(known.sum(), 1)


def smoothed_ce(logits: mx.array, targets: mx.array, smoothing: float) -> tuple[mx.array, mx.array]:
    valid = targets != IGNORE
    logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    nll = -mx.take_along_axis(logp, mx.maximum(targets, 0)[..., None], axis=-1)[..., 0]
    loss = (1 - smoothing) * nll - smoothing * logp.mean(-1)
    n = valid.sum()
    return (loss * valid).sum() / n, ((logits.argmax(-1) == targets) * valid).sum() / n


def loss_fn(model: Paraformer, batch: dict, sampling_ratio: float = 0.75, smoothing: float = 0.1,
            quantity_weight: float = 1.0, ctc: CTC | None = None, ctc_weight: float = 0.0,
            align_weight: float = 0.0):
    """Upstream's combination: (1 - w)·CE + w·CTC + quantity loss, w the CTC weight; plus, when
    `align_weight` is set and the batch has word starts, the word-start loss."""
    feats, feat_lens, targets, target_lens = batch["feats"], batch["feat_lens"], batch["targets"], batch["target_lens"]
    T, N = feats.shape[1], targets.shape[1]
    mask = (mx.arange(T)[None] < feat_lens[:, None]).astype(feats.dtype)
    enc = model.encoder(feats, mask)
    alphas = model.predictor.frame_alphas(enc, mask)
    counts = alphas.sum(-1)
    quantity = mx.abs(counts - target_lens).mean()
    scaled = alphas * (target_lens / mx.maximum(counts, 1e-4))[:, None]
    acoustic = cif_weights(scaled, N) @ enc

    decoder = model.decoder
    first = mx.stop_gradient(decoder(acoustic, target_lens, enc, feat_lens))
    valid = targets != IGNORE
    wrong = ((first.argmax(-1) != targets) & valid).sum(-1)
    n_glance = mx.floor(wrong.astype(mx.float32) * sampling_ratio)
    # Random ranks among valid positions; the n_glance lowest get the true token's embedding.
    scores = mx.where(valid, mx.random.uniform(shape=targets.shape), 2.0)
    ranks = mx.argsort(mx.argsort(scores, axis=-1), axis=-1)
    glance = (ranks < n_glance[:, None])[..., None]
    truth = decoder.embed[0](mx.maximum(targets, 0))
    mixed = mx.where(glance, truth, acoustic)
    logits = decoder(mixed, target_lens, enc, feat_lens)
    ce, acc = smoothed_ce(logits, targets, smoothing)
    metrics = {"ce": ce, "quantity": quantity, "token_acc": acc, "first_pass_acc": 1 - wrong.sum() / valid.sum()}
    loss = ce + quantity_weight * quantity
    if ctc is not None:
        metrics["ctc"] = ctc_loss(ctc(enc), feat_lens, mx.maximum(targets, 0), target_lens)
        loss = (1 - ctc_weight) * ce + ctc_weight * metrics["ctc"] + quantity_weight * quantity
    if align_weight > 0 and "word_frames" in batch:
        metrics["word_start"] = word_start_loss(alphas, batch["word_frames"], batch["words_before"])
        loss = loss + align_weight * metrics["word_start"]
    return loss, metrics
