"""FunASR's FSMN-VAD network: per 10 ms frame, a posterior over 248 classes, class 0 being silence.

Feedforward sequential memory network (Zhang et al., "Deep-FSMN", arXiv:1803.05030): each block
projects to 128 dimensions, adds a learnt weighted sum of the past 20 projected frames (a causal
depthwise convolution, the "memory"), and projects back. Attribute names equal the upstream
checkpoint keys (`encoder.fsmn.0.fsmn_block.conv_left.weight`, ...), so `model.pt` loads by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn

from ..errors import CheckpointError
from .sanm import fsmn_memory


@dataclass
class FsmnConfig:
    """Upstream `encoder_conf` of an FSMN-VAD (speech_fsmn_vad_zh-cn-16k-common)."""

    input_dim: int = 400
    input_affine_dim: int = 140
    fsmn_layers: int = 4
    linear_dim: int = 250
    proj_dim: int = 128
    lorder: int = 20
    rorder: int = 0
    lstride: int = 1
    rstride: int = 0
    output_affine_dim: int = 140
    output_dim: int = 248

    def __post_init__(self):  # refused at load: the model has no right-context memory
        if self.rorder != 0 or self.lstride != 1:
            raise CheckpointError(f"encoder_conf: only causal FSMN-VADs are supported (rorder {self.rorder}, "
                                  f"lstride {self.lstride}; released ones have 0 and 1)")


class Affine(nn.Module):
    """Upstream wraps each linear layer in a module of its own, hence the `.linear` in every key."""

    def __init__(self, dims_in: int, dims_out: int, bias: bool = True):
        super().__init__()
        self.linear = nn.Linear(dims_in, dims_out, bias=bias)

    def __call__(self, x: mx.array) -> mx.array:
        return self.linear(x)


class FsmnMemoryBlock(nn.Module):
    """`fsmn_block`: SAN-M's FSMN memory looking only into the past (`lorder` frames, the current
    one included). Upstream stores the convolution as a Conv2d with a [lorder, 1] kernel, which is
    a Conv1d; the converter reads it as one. Its right-context twin is unused by every released
    VAD (rorder 0)."""

    def __init__(self, dims: int, lorder: int):
        super().__init__()
        self.conv_left = nn.Conv1d(dims, dims, lorder, groups=dims, bias=False)

    def __call__(self, x: mx.array) -> mx.array:
        return fsmn_memory(self.conv_left, x, None, left=self.conv_left.weight.shape[1] - 1)


class FsmnLayer(nn.Module):
    def __init__(self, cfg: FsmnConfig):
        super().__init__()
        self.linear = Affine(cfg.linear_dim, cfg.proj_dim, bias=False)
        self.fsmn_block = FsmnMemoryBlock(cfg.proj_dim, cfg.lorder)
        self.affine = Affine(cfg.proj_dim, cfg.linear_dim)

    def __call__(self, x: mx.array) -> mx.array:
        return nn.relu(self.affine(self.fsmn_block(self.linear(x))))


class FsmnEncoder(nn.Module):
    def __init__(self, cfg: FsmnConfig):
        super().__init__()
        self.in_linear1 = Affine(cfg.input_dim, cfg.input_affine_dim)
        self.in_linear2 = Affine(cfg.input_affine_dim, cfg.linear_dim)
        self.fsmn = [FsmnLayer(cfg) for _ in range(cfg.fsmn_layers)]
        self.out_linear1 = Affine(cfg.linear_dim, cfg.output_affine_dim)
        self.out_linear2 = Affine(cfg.output_affine_dim, cfg.output_dim)

    def __call__(self, feats: mx.array) -> mx.array:
        """feats [B, T, input_dim] (LFR 5/1, CMVN) → class posteriors [B, T, output_dim]."""
        x = nn.relu(self.in_linear2(self.in_linear1(feats)))
        for layer in self.fsmn:
            x = layer(x)
        return mx.softmax(self.out_linear2(self.out_linear1(x)), axis=-1)


class FsmnVadModel(nn.Module):
    def __init__(self, cfg: FsmnConfig):
        super().__init__()
        self.encoder = FsmnEncoder(cfg)

    def __call__(self, feats: mx.array) -> mx.array:
        return self.encoder(feats)
