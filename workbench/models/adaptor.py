"""Fun-ASR-Nano's audio adaptor: encoder frames (512) → LLM embedding space (1024).

Upstream class `Transformer` (funasr/models/llm_asr/adaptor.py): stack k frames (k=1 in
Nano: no downsampling), a two-layer MLP, then pre-norm Transformer blocks whose feed-forward
width is hard-coded to llm_dim // 4 (256), not `ffn_dim`. No positional encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn

from ..trace import NO_TRACE, Trace
from .activations import relu
from .attention import attention, key_padding_mask
from .sanm import PositionwiseFeedForward

LAYER_NORM_EPS = 1e-12  # funasr.models.transformer.layer_norm.LayerNorm


@dataclass
class AdaptorConf:
    """Upstream `audio_adaptor_conf` (encoder_dim and llm_dim are overwritten from the encoder
    and LLM sizes at build time upstream, so they are stored resolved here)."""

    downsample_rate: int = 1
    encoder_dim: int = 512
    llm_dim: int = 1024
    ffn_dim: int = 2048
    n_layer: int = 2
    attention_heads: int = 8


class MultiHeadedAttention(nn.Module):
    """Standard multi-head self-attention with separate, biased q/k/v/out projections."""

    def __init__(self, n_head: int, n_feat: int):
        super().__init__()
        self.h = n_head
        self.d_k = n_feat // n_head
        self.linear_q = nn.Linear(n_feat, n_feat)
        self.linear_k = nn.Linear(n_feat, n_feat)
        self.linear_v = nn.Linear(n_feat, n_feat)
        self.linear_out = nn.Linear(n_feat, n_feat)

    def __call__(self, x, mask=None, trace: Trace = NO_TRACE, name: str = ""):
        B, T, _ = x.shape
        q, k, v = (p(x).reshape(B, T, self.h, self.d_k).transpose(0, 2, 1, 3)
                   for p in (self.linear_q, self.linear_k, self.linear_v))
        o = attention(q, k, v, scale=self.d_k**-0.5, mask=mask, trace=trace, name=name)
        return self.linear_out(o.transpose(0, 2, 1, 3).reshape(B, T, -1))


class EncoderLayer(nn.Module):
    def __init__(self, size: int, n_head: int, hidden_units: int):
        super().__init__()
        self.self_attn = MultiHeadedAttention(n_head, size)
        self.feed_forward = PositionwiseFeedForward(size, hidden_units)
        self.norm1 = nn.LayerNorm(size, eps=LAYER_NORM_EPS)
        self.norm2 = nn.LayerNorm(size, eps=LAYER_NORM_EPS)

    def __call__(self, x, mask=None, trace: Trace = NO_TRACE, name: str = ""):
        x = x + self.self_attn(self.norm1(x), mask, trace, name)
        return x + self.feed_forward(self.norm2(x))


class AudioAdaptor(nn.Module):
    def __init__(self, conf: AdaptorConf):
        super().__init__()
        self.k = conf.downsample_rate
        self.linear1 = nn.Linear(conf.encoder_dim * self.k, conf.ffn_dim)
        self.linear2 = nn.Linear(conf.ffn_dim, conf.llm_dim)
        self.blocks = [EncoderLayer(conf.llm_dim, conf.attention_heads, conf.llm_dim // 4) for _ in range(conf.n_layer)]

    def capture_names(self) -> list[str]:
        return [f"adaptor.layers.{i}.attn" for i in range(len(self.blocks))] + ["adaptor.out"]

    def __call__(self, x: mx.array, lengths: mx.array | None = None, trace: Trace = NO_TRACE) -> mx.array:
        """[B,T,encoder_dim] → [B, ceil(T/k), llm_dim]; `lengths` (frames) only when padded."""
        B, T, D = x.shape
        chunks = -(-T // self.k)
        x = mx.pad(x, [(0, 0), (0, chunks * self.k - T), (0, 0)]).reshape(B, chunks, D * self.k)
        x = self.linear2(relu(self.linear1(x)))
        mask = None if lengths is None else key_padding_mask((lengths - 1) // self.k + 1, chunks)
        for i, block in enumerate(self.blocks):
            x = block(x, mask, trace, f"adaptor.layers.{i}.attn")
        trace.put("adaptor.out", x)
        return x
