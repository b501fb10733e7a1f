"""Connectionist temporal classification in MLX: the auxiliary encoder head, its loss, and the
likelihood of given token sequences.

Upstream trains Fun-ASR-Nano with a CTC branch on the audio encoder (`ctc_weight: 1.0`) and
Paraformer supports one (`ctc_weight`, 0 for paraformer-large). A CTC head gives the encoder a
direct, alignment-free signal for every token, which the demo recipes need: without it the
Paraformer decoder, helped by glancing, learnt English as a language model and left the encoder
untrained on English sounds. The head (`ctc.ctc_lo`, upstream's key) is trained alongside the
model and shipped beside it (`ctc_head.safetensors`), so that inference can also ask it how well a
decoded sentence fits the audio (`ctc_rescore.py`); paraformer-large has none.

The likelihood is the standard forward (alpha) recursion over the label sequence interleaved with
blanks, in log space, vectorised over batch and label positions and looped over time. Its
gradient is written out (the backward, beta, recursion and the state posteriors, as warp-ctc
does) instead of left to autodiff: autodiff through the loop made the loss and its gradient
17,077 operations for a 100 × 240-frame batch with 25-token labels, these recursions make 4,910
(`python scripts/step_graph.py`), about ten per frame each way, and paraformer-demo's training
steps on an H200 went from 98 to 111 a minute (`scripts/gpu/README.md`, "The ninth run").
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
import numpy as np

# Where a model directory keeps its CTC head, beside model.safetensors.
CTC_HEAD_FILE = "ctc_head.safetensors"
# The head's scores for every encoder frame, capturable from a model that has a head: what the
# encoder alone hears, without the decoder's or the LLM's language model (`greedy_ids` reads it).
CAPTURE = "ctc.logits"


def head_scores(head: "CTC | None", enc: mx.array, trace, needed: bool) -> mx.array | None:
    """A head's scores of `enc`, computed once for whoever needs them: rescoring (`needed`) or a
    `CAPTURE` that `trace` asks for. None for a model without a head, which a wildcard capture
    such as "*" asks too."""
    if head is None or not (needed or trace.wants(CAPTURE)):
        return None
    logits = head(enc)
    trace.put(CAPTURE, logits)
    return logits


def greedy_ids(logits, blank: int) -> list[int]:
    """Greedy CTC reading of one clip's head scores [T, V]: each frame's likeliest id, repeats
    merged and blanks dropped."""
    best = np.asarray(logits).argmax(-1)
    return [int(t) for i, t in enumerate(best) if t != blank and (i == 0 or t != best[i - 1])]


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
    return (ctc_nll(logits, input_lens, labels, label_lens, blank) / mx.maximum(label_lens, 1)).mean()


def ctc_nll(logits: mx.array, input_lens: mx.array, labels: mx.array, label_lens: mx.array,
            blank: int = 0) -> mx.array:
    """-log P(labels | inputs) per utterance [B], summed over all alignments (shapes as `ctc_loss`)."""
    B, T, _ = logits.shape
    S = 2 * labels.shape[1] + 1
    logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    # Extended sequence: blank, y1, blank, y2, ..., yL, blank.
    ext = mx.full((B, S), blank, dtype=mx.int32)
    ext[:, 1::2] = labels.astype(mx.int32)
    # Autodiff carries the gradient from here back to the logits: a scatter-add over the states
    # that share a token, then the log-softmax.
    emit = mx.take_along_axis(logp, mx.broadcast_to(ext[:, None, :], (B, T, S)), axis=-1)  # [B, T, S]
    positions = mx.arange(S)[None, :]
    # A skip from s-2 to s is allowed onto a label that differs from the label two places back.
    previous = mx.concatenate([mx.full((B, 2), blank, dtype=mx.int32), ext[:, :-2]], axis=1)
    can_skip = (ext != blank) & (ext != previous) & (positions >= 2)
    # Paths end on the last label or the blank after it (only that blank for an empty label sequence).
    last = 2 * label_lens[:, None]
    ends = (positions == last) | ((positions == last - 1) & (label_lens[:, None] > 0))
    skip = mx.where(can_skip, 0.0, NEG)[:, None, :]  # log-weight of a skip onto each state
    nll, _ = _ctc_nll(emit, skip, ends, input_lens.astype(mx.int32))
    return nll


def sequence_log_likelihoods(logits: mx.array, sequences: list[list[int]], blank: int = 0) -> list[float]:
    """log P(sequence | one clip's CTC logits [T, V]) for each candidate token sequence, in one batch."""
    width = max(1, max(len(s) for s in sequences))
    labels = mx.array([s + [blank] * (width - len(s)) for s in sequences])
    n = len(sequences)
    nll = ctc_nll(mx.broadcast_to(logits[None], (n, *logits.shape)), mx.full((n,), logits.shape[0]), labels,
                  mx.array([len(s) for s in sequences]), blank)
    return (-nll).tolist()


# A large finite stand-in for log(0): -inf would give inf - inf = NaN in the posteriors.
NEG = -1e30


class _Moves:
    """A frame's transitions between states, in log space, for [B, 1, S] variables: staying,
    moving one state on, and skipping two where that is allowed (`skip`, 0 or NEG per target
    state). `forward` gathers each state's predecessors, `backward` its successors. The padding
    is made once, not per frame: every operation in the frame loop is one more to launch."""

    def __init__(self, skip: mx.array):
        self.skip = skip
        self.pad1 = mx.full((*skip.shape[:-1], 1), NEG, dtype=skip.dtype)
        self.pad2 = mx.full((*skip.shape[:-1], 2), NEG, dtype=skip.dtype)

    def forward(self, x: mx.array) -> mx.array:
        one = mx.concatenate([self.pad1, x[..., :-1]], axis=-1)
        two = mx.concatenate([self.pad2, x[..., :-2]], axis=-1) + self.skip
        return mx.logaddexp(mx.logaddexp(x, one), two)

    def backward(self, x: mx.array) -> mx.array:
        one = mx.concatenate([x[..., 1:], self.pad1], axis=-1)
        two = mx.concatenate([(x + self.skip)[..., 2:], self.pad2], axis=-1)
        return mx.logaddexp(mx.logaddexp(x, one), two)


@mx.custom_function
def _ctc_nll(emit: mx.array, skip: mx.array, ends: mx.array, input_lens: mx.array):
    """-log P per utterance, and the forward log-variables alpha [B, T, S] for the gradient.
    The recursion runs over all T frames; each utterance's probability is read at its own last
    frame, so the frames after it need no masking."""
    T, S = emit.shape[1:]
    frames = mx.split(emit, T, axis=1)  # T × [B, 1, S]
    moves = _Moves(skip)
    alpha = mx.where(mx.arange(S) < 2, frames[0], NEG)
    alphas = [alpha]
    for t in range(1, T):
        alpha = moves.forward(alpha) + frames[t]
        alphas.append(alpha)
    alphas = mx.concatenate(alphas, axis=1)
    final = mx.take_along_axis(alphas, (input_lens - 1)[:, None, None], axis=1)
    nll = -mx.logsumexp(mx.where(ends[:, None, :], final, NEG), axis=(1, 2))
    return nll, alphas


@_ctc_nll.vjp
def _ctc_nll_vjp(primals, cotangents, outputs):
    """d nll / d emit[b, t, s] = -(posterior of state s at frame t), from alpha and beta, beta
    being the log-probability of the rest of the labels from s after frame t (so without frame
    t's emission, which alpha already holds)."""
    emit, skip, ends, input_lens = primals
    _, alphas = outputs
    T = emit.shape[1]
    frames = mx.split(emit, T, axis=1)
    moves = _Moves(skip)
    # Paths leave from an end state at the utterance's last frame; later frames stay at log(0).
    frame = mx.arange(T)[None, :, None]
    last = input_lens[:, None, None] - 1
    leave = mx.split(mx.where((frame == last) & ends[:, None, :], 0.0, NEG), T, axis=1)
    beta = leave[T - 1]
    betas = [beta]
    for t in range(T - 2, -1, -1):
        # From s at t on to s' at t + 1 (with its emission), then the rest of the labels.
        beta = mx.logaddexp(moves.backward(beta + frames[t + 1]), leave[t])
        betas.append(beta)
    joint = alphas + mx.concatenate(betas[::-1], axis=1)
    posterior = mx.exp(joint - mx.logsumexp(joint, axis=-1, keepdims=True)) * (frame <= last)
    d_emit = -posterior * cotangents[0][:, None, None]
    return d_emit, mx.zeros_like(skip), mx.zeros_like(ends), mx.zeros_like(input_lens)
