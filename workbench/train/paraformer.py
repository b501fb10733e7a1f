"""Training objective for Paraformer: cross-entropy after a glancing pass, plus CIF's quantity loss.

As upstream (funasr Paraformer.forward): during training the CIF weights are rescaled so they
sum to the reference token count (the decoder then always sees the right number of acoustic
embeddings), an L1 "quantity" loss teaches the unscaled weights to sum to that count, and a
glancing sampler replaces a share of the acoustic embeddings with the true tokens' embeddings
— more of them the more tokens the first, gradient-free decoder pass got wrong.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ..models.paraformer import Paraformer
from ..pipelines.common import pad_stack as pad
from .ctc import CTC, ctc_loss
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


def make_batch(examples: list[Example], idx: list[int], targets: list[list[int]], cmvn) -> dict:
    feats = [(examples[i].features.astype(np.float32) + cmvn[0]) * cmvn[1] for i in idx]
    ys = [np.array(targets[i], dtype=np.int32) for i in idx]
    return {
        "feats": mx.array(pad(feats)),
        "feat_lens": mx.array([len(f) for f in feats]),
        "targets": mx.array(pad(ys, IGNORE)),
        "target_lens": mx.array([len(y) for y in ys]),
    }


def smoothed_ce(logits: mx.array, targets: mx.array, smoothing: float) -> tuple[mx.array, mx.array]:
    valid = targets != IGNORE
    logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    nll = -mx.take_along_axis(logp, mx.maximum(targets, 0)[..., None], axis=-1)[..., 0]
    loss = (1 - smoothing) * nll - smoothing * logp.mean(-1)
    n = valid.sum()
    return (loss * valid).sum() / n, ((logits.argmax(-1) == targets) * valid).sum() / n


def loss_fn(model: Paraformer, batch: dict, sampling_ratio: float = 0.75, smoothing: float = 0.1,
            quantity_weight: float = 1.0, ctc: CTC | None = None, ctc_weight: float = 0.0):
    """Upstream's combination: (1 - w)·CE + w·CTC + quantity loss, w the CTC weight."""
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
    return loss, metrics
