"""SAN-M: self-attention with a memory block, the encoder layer of Paraformer and SenseVoice.

One implementation serves both families; they differ only in LayerNorm epsilon (1e-12 in
Paraformer's SANMEncoder, 1e-5 in SenseVoiceEncoderSmall) and in SenseVoice's extra stack of
`tp_encoders` after `after_norm`. Attribute names equal the upstream checkpoint keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn

from ..errors import CheckpointError
from ..trace import NO_TRACE, Trace
from .activations import relu
from .attention import attention, key_padding_mask
from .depthwise import depthwise_conv


def sinusoidal_position_encoding(length: int, depth: int) -> mx.array:
    """FunASR's SinusoidalPositionEncoder table [length, depth].

    It differs from the Transformer paper in three ways that all matter for exactness:
    positions start at 1, the frequency step divides by (depth/2 - 1), and the sine and cosine
    halves are concatenated rather than interleaved. Computed in fp32 like upstream.
    """
    positions = mx.arange(1, length + 1, dtype=mx.float32)
    step = math.log(10000.0) / (depth / 2 - 1)
    inv_timescales = mx.exp(mx.arange(depth // 2, dtype=mx.float32) * -step)
    scaled = positions[:, None] * inv_timescales[None, :]
    return mx.concatenate([mx.sin(scaled), mx.cos(scaled)], axis=-1)


def fsmn_memory(fsmn_block: nn.Conv1d, x: mx.array, mask: mx.array | None, left: int | None = None) -> mx.array:
    """The FSMN memory: a depthwise convolution over time plus its own input, zero at padding.

    The window reaches `left` frames into the past and the rest of the kernel into the future:
    centred by default (SAN-M's sanm_shfit is 0 in every released config), all past for the
    FSMN-VAD's causal memory. Padded frames are zeroed before the convolution so they cannot leak
    into valid neighbours, and again after it, matching upstream's masking on both sides.
    """
    if mask is not None:
        x = x * mask[..., None]
    kernel = fsmn_block.weight.shape[1]
    left = (kernel - 1) // 2 if left is None else left
    padded = mx.pad(x, [(0, 0), (left, kernel - 1 - left), (0, 0)])
    out = depthwise_conv(padded, fsmn_block.weight) + x
    if mask is not None:
        out = out * mask[..., None]
    return out


class MultiHeadedAttentionSANM(nn.Module):
    """Self-attention whose value projection also feeds an FSMN memory added to the output."""

    def __init__(self, n_head: int, in_feat: int, n_feat: int, kernel_size: int):
        super().__init__()
        self.h = n_head
        self.d_k = n_feat // n_head
        self.linear_q_k_v = nn.Linear(in_feat, 3 * n_feat)
        self.linear_out = nn.Linear(n_feat, n_feat)
        # Depthwise: one 11-tap filter per channel. MLX weight layout [C, K, 1].
        self.fsmn_block = nn.Conv1d(n_feat, n_feat, kernel_size, groups=n_feat, bias=False)

    def __call__(self, x, mask=None, trace: Trace = NO_TRACE, name: str = ""):
        B, T, _ = x.shape
        q, k, v = mx.split(self.linear_q_k_v(x), 3, axis=-1)
        memory = fsmn_memory(self.fsmn_block, v, mask)
        q, k, v_h = (a.reshape(B, T, self.h, self.d_k).transpose(0, 2, 1, 3) for a in (q, k, v))
        lengths = None if mask is None else mask.sum(axis=-1).astype(mx.int32)
        o = attention(
            q, k, v_h, scale=self.d_k**-0.5, mask=key_padding_mask(lengths, T), trace=trace, name=name
        )
        o = o.transpose(0, 2, 1, 3).reshape(B, T, -1)
        # Upstream adds the memory after linear_out, not before.
        return self.linear_out(o) + memory


class PositionwiseFeedForward(nn.Module):
    """w_2(ReLU(w_1(x))), both biased."""

    def __init__(self, idim: int, hidden_units: int):
        super().__init__()
        self.w_1 = nn.Linear(idim, hidden_units)
        self.w_2 = nn.Linear(hidden_units, idim)

    def __call__(self, x):
        return self.w_2(relu(self.w_1(x)))


class EncoderLayerSANM(nn.Module):
    """Pre-norm SAN-M layer. The first layer maps 560→512 and so has no attention residual."""

    def __init__(self, in_size: int, size: int, n_head: int, linear_units: int, kernel_size: int, eps: float):
        super().__init__()
        self.self_attn = MultiHeadedAttentionSANM(n_head, in_size, size, kernel_size)
        self.feed_forward = PositionwiseFeedForward(size, linear_units)
        self.norm1 = nn.LayerNorm(in_size, eps=eps)
        self.norm2 = nn.LayerNorm(size, eps=eps)
        self.residual = in_size == size

    def __call__(self, x, mask=None, trace: Trace = NO_TRACE, name: str = ""):
        a = self.self_attn(self.norm1(x), mask, trace, f"{name}.attn")
        x = x + a if self.residual else a
        x = x + self.feed_forward(self.norm2(x))
        trace.put(f"{name}.out", x)
        return x


@dataclass
class SANMEncoderConf:
    """Upstream `encoder_conf` fields that inference uses (SANMEncoder / SenseVoiceEncoderSmall)."""

    input_size: int = 560
    output_size: int = 512
    attention_heads: int = 4
    linear_units: int = 2048
    num_blocks: int = 50
    tp_blocks: int = 0
    kernel_size: int = 11
    sanm_shfit: int = 0


class SANMEncoder(nn.Module):
    """features [B,T,560] → [B,T,512]; no subsampling.

    Paraformer: encoders0, encoders (num_blocks-1), after_norm.
    SenseVoice adds tp_encoders (tp_blocks) and tp_norm after after_norm.
    Capture names number encoders0 and encoders together as `encoder.layers.{i}` and the
    SenseVoice stack as `encoder.tp_layers.{i}`.
    """

    def __init__(self, conf: SANMEncoderConf, eps: float):
        super().__init__()
        if conf.sanm_shfit != 0:
            raise CheckpointError("sanm_shfit != 0 (streaming SAN-M) is not supported")
        d, h, u, k = conf.output_size, conf.attention_heads, conf.linear_units, conf.kernel_size
        self.output_size = d
        self.encoders0 = [EncoderLayerSANM(conf.input_size, d, h, u, k, eps)]
        self.encoders = [EncoderLayerSANM(d, d, h, u, k, eps) for _ in range(conf.num_blocks - 1)]
        self.after_norm = nn.LayerNorm(d, eps=eps)
        if conf.tp_blocks > 0:
            self.tp_encoders = [EncoderLayerSANM(d, d, h, u, k, eps) for _ in range(conf.tp_blocks)]
            self.tp_norm = nn.LayerNorm(d, eps=eps)

    def capture_names(self, prefix: str = "encoder") -> list[str]:
        names = []
        for i in range(len(self.encoders0) + len(self.encoders)):
            names += [f"{prefix}.layers.{i}.attn", f"{prefix}.layers.{i}.out"]
        for i in range(len(self.get("tp_encoders", []))):
            names += [f"{prefix}.tp_layers.{i}.attn", f"{prefix}.tp_layers.{i}.out"]
        return names + [f"{prefix}.out"]

    def __call__(self, x, mask=None, trace: Trace = NO_TRACE, prefix: str = "encoder"):
        # Features are scaled by sqrt(output_size) (512), while the position table has the
        # depth of the input (560): both as upstream.
        x = x * math.sqrt(self.output_size) + sinusoidal_position_encoding(x.shape[1], x.shape[2])
        for i, layer in enumerate(self.encoders0 + self.encoders):
            x = layer(x, mask, trace, f"{prefix}.layers.{i}")
        x = self.after_norm(x)
        for i, layer in enumerate(self.get("tp_encoders", [])):
            x = layer(x, mask, trace, f"{prefix}.tp_layers.{i}")
        if "tp_norm" in self:
            x = self.tp_norm(x)
        trace.put(f"{prefix}.out", x)
        return x
