"""Paraformer's non-autoregressive SAN-M decoder (ParaformerSANMDecoder).

It turns the N acoustic embeddings from CIF into N token distributions in one pass: each layer
mixes neighbouring tokens with an FSMN memory (no token-token attention) and reads the encoder
output through cross-attention. Its residual wiring is unusual and easy to get wrong; see
`DecoderLayerSANM.__call__`.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn

from ..errors import CheckpointError
from ..trace import NO_TRACE, Trace
from .activations import relu
from .attention import attention, key_padding_mask
from .sanm import fsmn_memory

LAYER_NORM_EPS = 1e-12  # funasr.models.transformer.layer_norm.LayerNorm


@dataclass
class ParaformerDecoderConf:
    """Upstream `decoder_conf` fields that inference uses."""

    attention_heads: int = 4
    linear_units: int = 2048
    num_blocks: int = 16
    att_layer_num: int = 16
    kernel_size: int = 11
    sanm_shfit: int = 0


class MultiHeadedAttentionSANMDecoder(nn.Module):
    """The decoder's 'self-attention' is only an FSMN memory over the token sequence."""

    def __init__(self, n_feat: int, kernel_size: int):
        super().__init__()
        self.fsmn_block = nn.Conv1d(n_feat, n_feat, kernel_size, groups=n_feat, bias=False)

    def __call__(self, x, mask=None):
        return fsmn_memory(self.fsmn_block, x, mask)


class MultiHeadedAttentionCrossAtt(nn.Module):
    """Tokens attend over encoder frames; keys and values come from one fused projection."""

    def __init__(self, n_head: int, n_feat: int):
        super().__init__()
        self.h = n_head
        self.d_k = n_feat // n_head
        self.linear_q = nn.Linear(n_feat, n_feat)
        self.linear_k_v = nn.Linear(n_feat, 2 * n_feat)
        self.linear_out = nn.Linear(n_feat, n_feat)

    def __call__(self, x, memory, memory_mask=None, trace: Trace = NO_TRACE, name: str = ""):
        B, N, _ = x.shape
        T = memory.shape[1]
        q = self.linear_q(x).reshape(B, N, self.h, self.d_k).transpose(0, 2, 1, 3)
        k, v = mx.split(self.linear_k_v(memory), 2, axis=-1)
        k, v = (a.reshape(B, T, self.h, self.d_k).transpose(0, 2, 1, 3) for a in (k, v))
        o = attention(q, k, v, scale=self.d_k**-0.5, mask=memory_mask, trace=trace, name=name)
        return self.linear_out(o.transpose(0, 2, 1, 3).reshape(B, N, -1))


class PositionwiseFeedForwardDecoderSANM(nn.Module):
    """w_2(LayerNorm(ReLU(w_1(x)))) with an unbiased w_2."""

    def __init__(self, idim: int, hidden_units: int):
        super().__init__()
        self.w_1 = nn.Linear(idim, hidden_units)
        self.norm = nn.LayerNorm(hidden_units, eps=LAYER_NORM_EPS)
        self.w_2 = nn.Linear(hidden_units, idim, bias=False)

    def __call__(self, x):
        return self.w_2(self.norm(relu(self.w_1(x))))


class DecoderLayerSANM(nn.Module):
    """One decoder layer; `with_attention=False` builds the FFN-only `decoders3` layer."""

    def __init__(self, size: int, n_head: int, linear_units: int, kernel_size: int, with_attention: bool = True):
        super().__init__()
        self.feed_forward = PositionwiseFeedForwardDecoderSANM(size, linear_units)
        self.norm1 = nn.LayerNorm(size, eps=LAYER_NORM_EPS)
        if with_attention:
            self.self_attn = MultiHeadedAttentionSANMDecoder(size, kernel_size)
            self.src_attn = MultiHeadedAttentionCrossAtt(n_head, size)
            self.norm2 = nn.LayerNorm(size, eps=LAYER_NORM_EPS)
            self.norm3 = nn.LayerNorm(size, eps=LAYER_NORM_EPS)

    def __call__(self, x, tgt_mask, memory, memory_mask, trace: Trace = NO_TRACE, name: str = ""):
        residual = x
        h = self.feed_forward(self.norm1(x))
        if "self_attn" not in self:
            return h  # decoders3: no residual at all
        # The FFN output is not added to the stream: it only feeds the FSMN, whose output is
        # added to the layer's *input*.
        x = residual + self.self_attn(self.norm2(h), tgt_mask)
        x = x + self.src_attn(self.norm3(x), memory, memory_mask, trace, f"{name}.cross_attn")
        trace.put(f"{name}.out", x)
        return x


class ParaformerSANMDecoder(nn.Module):
    def __init__(self, conf: ParaformerDecoderConf, vocab_size: int, d_model: int):
        super().__init__()
        if conf.att_layer_num != conf.num_blocks or conf.sanm_shfit != 0:
            raise CheckpointError("only att_layer_num == num_blocks and sanm_shfit == 0 are supported")
        h, u, k = conf.attention_heads, conf.linear_units, conf.kernel_size
        # Token embeddings: unused at inference, kept for training's glancing sampler and to
        # round-trip the upstream checkpoint (key decoder.embed.0.weight).
        self.embed = [nn.Embedding(vocab_size, d_model)]
        self.decoders = [DecoderLayerSANM(d_model, h, u, k) for _ in range(conf.num_blocks)]
        self.decoders3 = [DecoderLayerSANM(d_model, h, u, k, with_attention=False)]
        self.after_norm = nn.LayerNorm(d_model, eps=LAYER_NORM_EPS)
        self.output_layer = nn.Linear(d_model, vocab_size)

    def capture_names(self) -> list[str]:
        names = []
        for i in range(len(self.decoders)):
            names += [f"decoder.layers.{i}.cross_attn", f"decoder.layers.{i}.out"]
        return names + ["decoder.logits"]

    def __call__(self, acoustic_embeds, token_lengths, memory, memory_lengths, trace: Trace = NO_TRACE):
        """acoustic_embeds [B,N,D], memory [B,T,D] → logits [B,N,V]; lengths are None at batch 1."""
        N, T = acoustic_embeds.shape[1], memory.shape[1]
        tgt_mask = None if token_lengths is None else (mx.arange(N)[None] < token_lengths[:, None]).astype(memory.dtype)
        memory_mask = key_padding_mask(memory_lengths, T)
        x = acoustic_embeds
        for i, layer in enumerate(self.decoders):
            x = layer(x, tgt_mask, memory, memory_mask, trace, f"decoder.layers.{i}")
        x = self.decoders3[0](x, tgt_mask, memory, memory_mask)
        logits = self.output_layer(self.after_norm(x))
        trace.put("decoder.logits", logits)
        return logits
