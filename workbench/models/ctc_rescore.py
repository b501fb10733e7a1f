"""Rescoring Paraformer's decoded sentence with the encoder's CTC head.

Paraformer's decoder chooses every token at once, each position on its own. Where it is unsure
between tokens (on paraformer-demo: an English word inside Mandarin, `re@@ port` read as 雨诺), the
CTC head, trained on the same encoder, may hear the sounds better, and it scores whole sentences
against the audio. So: the `beam` most likely sentences the decoder's per-position distributions
allow (each position choosing among its `top_k` tokens) are scored by the decoder's summed
log-probability plus `weight` × CTC's log-likelihood of the sentence, and the best is kept. CIF's
token count and timings stay as they were. Not an upstream decoding mode: paraformer-large has no
CTC head, and a weight of 0 is upstream's single pass.
"""

from __future__ import annotations

import heapq

import mlx.core as mx
import numpy as np

from .ctc import sequence_log_likelihoods

# The setting measured on paraformer-demo's test split (its model card; no other was tried): 16
# candidates, each position choosing among its 4 likeliest tokens. Each candidate is one more row
# of the batched CTC forward pass.
TOP_K = 4
BEAM = 16
MAX_WEIGHT = 5.0


def decoder_nbest(logprobs: np.ndarray, top_k: int = TOP_K, beam: int = BEAM) -> list[tuple[list[int], float]]:
    """The `beam` token sequences of highest summed log-probability, best first, choosing each
    position's token among its `top_k` most likely: (token ids, summed log-probability).
    Exact for sums of independent positions: beam search keeps every prefix that can still
    finish in the top `beam`."""
    beams: list[tuple[float, list[int]]] = [(0.0, [])]
    for row in logprobs:
        choices = np.argsort(-row)[:top_k]
        beams = heapq.nlargest(beam, ((score + float(row[t]), ids + [int(t)]) for score, ids in beams
                                      for t in choices), key=lambda item: item[0])
    return [(ids, score) for score, ids in beams]


def rescore(logprobs: np.ndarray, ctc_logits: mx.array, weight: float, dropped: tuple[int, ...] = ()) -> dict:
    """Choose among the decoder's N-best (`logprobs` [N, V], one clip's N decoded positions) by
    decoder log-probability + `weight` × CTC log-likelihood (`ctc_logits` [T, V], the clip's own
    frames). Tokens in `dropped` (blank, sos, eos) are left out of the sentence CTC scores, as the
    transcript leaves them out.

    Returns {"ids": chosen ids, "rank": its place in the decoder's N-best (0: the decoder's own
    choice), "candidates": how many were scored}.
    """
    nbest = decoder_nbest(logprobs)
    ctc = sequence_log_likelihoods(ctc_logits, [[t for t in ids if t not in dropped] for ids, _ in nbest])
    totals = [score + weight * c for (_, score), c in zip(nbest, ctc)]
    rank = int(np.argmax(totals))
    return {"ids": nbest[rank][0], "rank": rank, "candidates": len(nbest)}
