"""Qwen3 decoder-only LLM (the language model inside Fun-ASR-Nano), with a growable KV cache.

Attribute names follow the Hugging Face checkpoint (`model.layers.{i}.self_attn.q_proj`, ...),
so Nano's `llm.*` keys load unchanged. Qwen3 differs from Qwen2 by a per-head RMSNorm on
queries and keys (`q_norm`, `k_norm`) applied before the rotary embedding, and by having no
projection biases. Nano feeds it embeddings, not token ids, for the prompt (the audio span has
no ids), hence `__call__` takes `inputs_embeds`.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn

from ..errors import CheckpointError
from ..trace import NO_TRACE, Trace
from .activations import silu
from .attention import attention


@dataclass
class Qwen3Config:
    """Fields of the LLM's `config.json` that inference uses (Qwen3-0.6B defaults)."""

    hidden_size: int = 1024
    num_hidden_layers: int = 28
    intermediate_size: int = 3072
    num_attention_heads: int = 16
    num_key_value_heads: int = 8
    head_dim: int = 128
    rms_norm_eps: float = 1e-6
    vocab_size: int = 151936
    rope_theta: float = 1_000_000.0
    tie_word_embeddings: bool = True
    # Not a Hugging Face field. FunASR builds Nano's LLM in its llm_dtype (bf16) and casts it to
    # fp32 afterwards, which rounds the RoPE inverse frequencies (a buffer) to bf16 for good:
    # up to 0.4% off, so phases drift with position. Nano's converter sets "bfloat16" to match.
    rope_freq_dtype: str = "float32"


def rope_wavelengths(c: Qwen3Config) -> mx.array:
    """1/inv_freq per rotated pair, as mx.fast.rope's `freqs` expects, with upstream's rounding."""
    inv_freq = 1.0 / (c.rope_theta ** (mx.arange(0, c.head_dim, 2, dtype=mx.float32) / c.head_dim))
    if c.rope_freq_dtype not in ("float32", "bfloat16", "float16"):
        raise CheckpointError(f"llm_conf.rope_freq_dtype {c.rope_freq_dtype!r} is not float32, bfloat16 or float16")
    inv_freq = inv_freq.astype(getattr(mx, c.rope_freq_dtype)).astype(mx.float32)
    return 1.0 / inv_freq


class KVCache:
    """Keys and values of every layer, [B, n_kv_heads, capacity, head_dim], grown in blocks.

    Preallocating in blocks of `step` positions keeps each decode step to an in-place slice
    update instead of a concatenation that copies the whole history every token.
    """

    step = 256

    def __init__(self, n_layers: int):
        self.keys: list[mx.array | None] = [None] * n_layers
        self.values: list[mx.array | None] = [None] * n_layers
        self.offset = 0  # positions already stored (the same for every layer)

    def update(self, layer: int, k: mx.array, v: mx.array) -> tuple[mx.array, mx.array]:
        B, H, L, D = k.shape
        start = self.offset
        stored = self.keys[layer]
        if stored is None or start + L > stored.shape[2]:
            capacity = ((start + L + self.step - 1) // self.step) * self.step
            grown_k = mx.zeros((B, H, capacity, D), k.dtype)
            grown_v = mx.zeros((B, H, capacity, D), v.dtype)
            if stored is not None:
                grown_k[:, :, :start] = stored[:, :, :start]
                grown_v[:, :, :start] = self.values[layer][:, :, :start]
            self.keys[layer], self.values[layer] = grown_k, grown_v
        self.keys[layer][:, :, start : start + L] = k
        self.values[layer][:, :, start : start + L] = v
        return self.keys[layer][:, :, : start + L], self.values[layer][:, :, : start + L]

    def advance(self, n: int) -> None:
        self.offset += n

    def select(self, indices: mx.array) -> "KVCache":
        """Reorder/duplicate batch rows (beam search keeps the cache rows of surviving beams)."""
        out = KVCache(len(self.keys))
        out.offset = self.offset
        out.keys = [None if k is None else k[indices] for k in self.keys]
        out.values = [None if v is None else v[indices] for v in self.values]
        return out


class Attention(nn.Module):
    def __init__(self, c: Qwen3Config):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, c.num_attention_heads * c.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.o_proj = nn.Linear(c.num_attention_heads * c.head_dim, c.hidden_size, bias=False)
        self.q_norm = nn.RMSNorm(c.head_dim, eps=c.rms_norm_eps)
        self.k_norm = nn.RMSNorm(c.head_dim, eps=c.rms_norm_eps)
        self._wavelengths = rope_wavelengths(c)

    def __call__(self, x, cache: KVCache | None, layer: int, trace: Trace = NO_TRACE, name: str = ""):
        B, L, _ = x.shape
        offset = cache.offset if cache is not None else 0
        q = self.q_norm(self.q_proj(x).reshape(B, L, self.n_heads, -1)).transpose(0, 2, 1, 3)
        k = self.k_norm(self.k_proj(x).reshape(B, L, self.n_kv_heads, -1)).transpose(0, 2, 1, 3)
        v = self.v_proj(x).reshape(B, L, self.n_kv_heads, -1).transpose(0, 2, 1, 3)
        # Rotate-half (NeoX) layout, as Hugging Face's Qwen3.
        q, k = (mx.fast.rope(a, self.head_dim, traditional=False, base=None, scale=1.0, offset=offset,
                             freqs=self._wavelengths) for a in (q, k))
        if cache is not None:
            k, v = cache.update(layer, k, v)
        mask = "causal" if L > 1 else None
        o = attention(q, k, v, scale=self.head_dim**-0.5, mask=mask, trace=trace, name=name)
        return self.o_proj(o.transpose(0, 2, 1, 3).reshape(B, L, -1))


class MLP(nn.Module):
    def __init__(self, c: Qwen3Config):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def __call__(self, x):
        return self.down_proj(silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: Qwen3Config):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = nn.RMSNorm(c.hidden_size, eps=c.rms_norm_eps)
        self.post_attention_layernorm = nn.RMSNorm(c.hidden_size, eps=c.rms_norm_eps)

    def __call__(self, x, cache, layer, trace=NO_TRACE, name=""):
        x = x + self.self_attn(self.input_layernorm(x), cache, layer, trace, name)
        return x + self.mlp(self.post_attention_layernorm(x))


class Qwen3Model(nn.Module):
    def __init__(self, c: Qwen3Config):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = [DecoderLayer(c) for _ in range(c.num_hidden_layers)]
        self.norm = nn.RMSNorm(c.hidden_size, eps=c.rms_norm_eps)


class Qwen3ForCausalLM(nn.Module):
    def __init__(self, config: Qwen3Config):
        super().__init__()
        self.config = config
        self.model = Qwen3Model(config)
        if not config.tie_word_embeddings:
            self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def capture_names(self, prefix: str = "llm") -> list[str]:
        return [f"{prefix}.layers.{i}.attn" for i in range(len(self.model.layers))]

    def embed(self, ids: mx.array) -> mx.array:
        return self.model.embed_tokens(ids)

    def new_cache(self) -> KVCache:
        return KVCache(len(self.model.layers))

    def __call__(self, inputs_embeds: mx.array, cache: KVCache | None = None, trace: Trace = NO_TRACE) -> mx.array:
        """inputs_embeds [B,L,hidden] at positions cache.offset.. → logits [B,L,vocab]; advances the cache.

        Without a cache (training) the sequence starts at position 0 and nothing is kept.
        """
        x = inputs_embeds
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cache, i, trace, f"llm.layers.{i}.attn")
        if cache is not None:
            cache.advance(inputs_embeds.shape[1])
        x = self.model.norm(x)
        if "lm_head" in self:
            return self.lm_head(x)
        return self.model.embed_tokens.as_linear(x)
