"""The one scaled-dot-product attention used by every model in the workbench.

Fast by default, inspectable on request: when the trace does not ask for this layer's
attention probabilities, the fused `mx.fast.scaled_dot_product_attention` kernel runs and the
[heads, L, S] probability matrix never exists. When it is asked for, the same arithmetic runs
explicitly (scale q, q·kᵀ, mask, softmax in fp32, ·v) and the probabilities are recorded.
"""

from __future__ import annotations

import mlx.core as mx

from ..trace import NO_TRACE, Trace


def key_padding_mask(lengths: mx.array | None, max_len: int) -> mx.array | None:
    """Additive mask [B,1,1,S] that removes padded keys, or None when nothing is padded.

    Batch-of-one inference never pads, so the common case pays for no mask at all.
    """
    if lengths is None:
        return None
    valid = mx.arange(max_len)[None, :] < lengths[:, None]
    return mx.where(valid, 0.0, -mx.inf)[:, None, None, :]


def attention(
    q: mx.array,
    k: mx.array,
    v: mx.array,
    *,
    scale: float,
    mask: mx.array | str | None = None,
    trace: Trace = NO_TRACE,
    name: str = "",
) -> mx.array:
    """softmax(scale·q·kᵀ + mask)·v over q [B,H,L,D], k/v [B,Hkv,S,D] → [B,H,L,D].

    `mask` is an additive array broadcastable to [B,H,L,S], the string "causal", or None.
    Grouped-query attention (Hkv < H) is handled by repeating k and v on the explicit path.
    """
    if not trace.wants(name):
        return mx.fast.scaled_dot_product_attention(q, k, v, scale=scale, mask=mask)

    n_heads, n_kv = q.shape[1], k.shape[1]
    if n_kv != n_heads:
        k = mx.repeat(k, n_heads // n_kv, axis=1)
        v = mx.repeat(v, n_heads // n_kv, axis=1)
    scores = (q * scale) @ k.swapaxes(-1, -2)
    if isinstance(mask, str):
        L, S = scores.shape[-2:]
        mask = mx.where(mx.arange(L)[:, None] + (S - L) >= mx.arange(S)[None, :], 0.0, -mx.inf)
    if mask is not None:
        scores = scores + mask.astype(scores.dtype)
    probs = mx.softmax(scores.astype(mx.float32), axis=-1, precise=True).astype(v.dtype)
    trace.put(name, probs)
    return probs @ v
