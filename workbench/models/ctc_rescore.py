"""Rescoring a decoded sentence with the encoder's CTC head (Paraformer's decoder, Nano's LLM).

Paraformer's decoder chooses every token at once, each position on its own. Where it is unsure
between tokens (on paraformer-demo: an English word inside Mandarin, `re@@ port` read as 雨诺), the
CTC head, trained on the same encoder, may hear the sounds better, and it scores whole sentences
against the audio. So: the `beam` most likely sentences the decoder's per-position distributions
allow (each position choosing among its `top_k` tokens) are scored by the decoder's summed
log-probability plus `weight` × CTC's log-likelihood of the sentence, and the best is kept. CIF's
token count and timings stay as they were. Not an upstream decoding mode: paraformer-large has no
CTC head, and a weight of 0 is upstream's single pass.

Fun-ASR-Nano's LLM writes one token after another; its beam search's finished sentences are the
candidates there (`rescore_hypotheses`), and the head is one trained on the frozen demo encoder.
"""

from __future__ import annotations

import heapq
from pathlib import Path

import mlx.core as mx
import numpy as np

from ..weights import load_weights_strict, read_safetensors
from .ctc import CTC, CTC_HEAD_FILE, sequence_log_likelihoods

# The setting measured on paraformer-demo's test split (its model card; no other was tried): 16
# candidates, each position choosing among its 4 likeliest tokens. Each candidate is one more row
# of the batched CTC forward pass.
TOP_K = 4
BEAM = 16
MAX_WEIGHT = 5.0


def load_ctc_head(path: Path, vocab_size: int, encoder_dim: int) -> CTC | None:
    """The CTC head a model directory keeps beside its weights, or None (upstream's have none)."""
    if not (path / CTC_HEAD_FILE).is_file():
        return None
    head = CTC(vocab_size, encoder_dim)
    load_weights_strict(head, read_safetensors(path / CTC_HEAD_FILE), str(path / CTC_HEAD_FILE))
    return head


def check_weight(weight, head: CTC | None, model_name: str) -> None:
    """ValueError unless `weight` is a CTC rescoring weight the model can use (the command line and
    the app ask before transcribing, to say it their way)."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= MAX_WEIGHT:
        raise ValueError(f"ctc_rescore must be a weight from 0 to {MAX_WEIGHT}, got {weight!r}")
    if weight and head is None:
        raise ValueError(f"{model_name or 'this model'} has no CTC head ({CTC_HEAD_FILE}), which ctc_rescore "
                         "needs: only models trained with --ctc-weight have one")


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


def rescore_hypotheses(hypotheses: list, ctc_logits: mx.array, weight: float, blank: int) -> dict:
    """Choose among a beam search's finished sentences (`decoding.Hypothesis`, best first) by their
    summed log-probability, stop token included, + `weight` × CTC log-likelihood (`ctc_logits`
    [T, V]). The summed log-probability, not the search's length-normalised score: CTC's
    likelihood is a sum over the sentence too.

    Returns {"rank": the chosen hypothesis's place in `hypotheses` (0: the search's own choice),
    "candidates"}.
    """
    ctc = sequence_log_likelihoods(ctc_logits, [h.tokens for h in hypotheses], blank)
    totals = [sum(s.logprob for s in h.steps) + weight * c for h, c in zip(hypotheses, ctc)]
    return {"rank": int(np.argmax(totals)), "candidates": len(hypotheses)}
