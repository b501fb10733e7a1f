"""Connectionist temporal classification loss in MLX, for the auxiliary encoder head used in training.

Upstream trains Fun-ASR-Nano with a CTC branch on the audio encoder (`ctc_weight: 1.0`) and
Paraformer supports one (`ctc_weight`, 0 for paraformer-large). A CTC head gives the encoder a
direct, alignment-free signal for every token, which the demo recipes need: without it the
Paraformer decoder, helped by glancing, learnt English as a language model and left the encoder
untrained on English sounds. The head (`ctc.ctc_lo`, upstream's key) exists only in training.

The loss is the standard forward (alpha) recursion over the label sequence interleaved with
blanks, in log space, vectorised over batch and label positions and looped over time.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

# A large finite stand-in for log(0): -inf would turn logsumexp's gradient into NaN.
NEG = -1e30


class CTC(nn.Module):
    """Upstream's `CTC` module layout: one projection `ctc_lo` from encoder states to the vocabulary."""

    def __init__(self, vocab_size: int, encoder_dim: int):
        super().__init__()
        self.ctc_lo = nn.Linear(encoder_dim, vocab_size)

    def __call__(self, hidden: mx.array) -> mx.array:
        return self.ctc_lo(hidden)


def ctc_loss(logits: mx.array, input_lens: mx.array, labels: mx.array, label_lens: mx.array,
             blank: int = 0) -> mx.array:
    """Mean over the batch of -log P(labels | inputs) / label length (torch's reduction="mean").

    logits [B, T, V]; labels [B, L] (padding past label_lens is ignored, any value in range).
    """
    B, T, _ = logits.shape
    L = labels.shape[1]
    S = 2 * L + 1
    logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    # Extended sequence: blank, y1, blank, y2, ..., yL, blank.
    ext = mx.full((B, S), blank, dtype=mx.int32)
    ext[:, 1::2] = labels.astype(mx.int32)
    emit = mx.take_along_axis(logp, mx.broadcast_to(ext[:, None, :], (B, T, S)), axis=-1)  # [B, T, S]

    positions = mx.arange(S)[None, :]
    # A skip from s-2 to s is allowed onto a label that differs from the label two places back.
    previous = mx.concatenate([mx.full((B, 2), blank, dtype=mx.int32), ext[:, :-2]], axis=1)
    can_skip = (ext != blank) & (ext != previous) & (positions >= 2)
    pad1 = mx.full((B, 1), NEG)
    pad2 = mx.full((B, 2), NEG)

    alpha = mx.where(positions < 2, emit[:, 0], NEG)
    for t in range(1, T):
        stay = alpha
        step = mx.concatenate([pad1, alpha[:, :-1]], axis=1)
        skip = mx.where(can_skip, mx.concatenate([pad2, alpha[:, :-2]], axis=1), NEG)
        new = mx.logsumexp(mx.stack([stay, step, skip]), axis=0) + emit[:, t]
        alpha = mx.where((t < input_lens)[:, None], new, alpha)  # frames past the input keep the final alpha

    last = (2 * label_lens)[:, None].astype(mx.int32)
    ends = mx.concatenate([mx.take_along_axis(alpha, last, axis=1),
                           mx.take_along_axis(alpha, mx.maximum(last - 1, 0), axis=1)], axis=1)
    # An empty label sequence ends only on the single blank.
    ends = mx.where((label_lens > 0)[:, None], ends, mx.concatenate([ends[:, :1], mx.full((B, 1), NEG)], axis=1))
    nll = -mx.logsumexp(ends, axis=1)
    return (nll / mx.maximum(label_lens, 1)).mean()
