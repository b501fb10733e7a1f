"""The model's confidence at every output position, in one form for both model families:
Nano's decoding steps as recorded by `workbench.decoding`, and Paraformer's single parallel pass
read off its decoder logits."""

from __future__ import annotations

import numpy as np

TOP_K = 5  # as many alternatives as the decoder records per Nano step (DecodingConfig.record_top_k)


def logits_positions(logits: np.ndarray, k: int = TOP_K) -> list[dict]:
    """Per row of [N, vocab] logits: the argmax token, its log-probability, the entropy (nats)
    and the top-k (id, probability), as Nano's step records have them."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    p = np.exp(logp)
    entropy = -(p * logp).sum(axis=-1)
    top = np.argsort(-logp, axis=-1)[:, :k]
    return [{"token": int(ids[0]), "logprob": float(logp[i, ids[0]]), "entropy": float(entropy[i]),
             "top": [(int(j), float(p[i, j])) for j in ids]} for i, ids in enumerate(top)]


def token_namer(pipeline):
    """id → the token's text, for either model family."""
    if pipeline.kind == "paraformer":
        return lambda i: pipeline.tokens[i]
    return lambda i: pipeline.prompt.decode([i])


def output_positions(pipeline, result) -> list[dict]:
    """Paraformer's records need `decoder.logits` captured (absent when no token fired: the decoder
    does not run); Nano's last record is its stop token."""
    if pipeline.kind == "paraformer":
        logits = result.captures.get("decoder.logits")
        return [] if logits is None else logits_positions(logits)
    return result.extra["steps"]


def table(records: list[dict], name) -> list[list]:
    """Rows: position, token, probability, entropy, and the top candidates as 'token p' pairs."""
    return [[i, name(r["token"]), round(float(np.exp(r["logprob"])), 3), round(r["entropy"], 3),
             "  ".join(f"{name(t)!r} {p:.2f}" for t, p in r["top"])] for i, r in enumerate(records)]
