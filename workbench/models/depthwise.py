"""The depthwise convolution over time of every FSMN memory (SAN-M's and the FSMN-VAD's).

out[b, t, c] = Σ_k weight[c, k] · padded[b, t + k, c], for a [B, T + K − 1, C] input and MLX's
[C, K, 1] depthwise `Conv1d` weight. Written two ways, each where it is faster
(`scripts/bench_fsmn_memory.py`, docs/benchmarks.md "The FSMN memory"):

- on the CPU, a sum of the K shifted, weighted copies of the input: 2–3× faster than MLX's
  grouped `conv1d` forward, and 2–4× with the gradient;
- on the GPU, `conv1d` forward (4× faster there), but with the gradient written as the same
  shifted sums: MLX's own gradient of a grouped `conv1d` took 35.8 ms for a training batch on an
  H100, the shifted sums 2.4 ms.
"""

from __future__ import annotations

import mlx.core as mx


def depthwise_conv(padded: mx.array, weight: mx.array) -> mx.array:
    if mx.default_device().type == mx.DeviceType.cpu:
        return _shifted_sum(padded, weight[:, :, 0].T)
    return _grouped_conv(padded, weight)


def _shifted_sum(padded: mx.array, taps: mx.array) -> mx.array:
    """Σ_k taps[k] · padded[:, k : k + T] with taps [K, C]."""
    frames = padded.shape[1] - taps.shape[0] + 1
    out = padded[:, :frames] * taps[0]
    for k in range(1, taps.shape[0]):
        out = out + padded[:, k : k + frames] * taps[k]
    return out


@mx.custom_function
def _grouped_conv(padded: mx.array, weight: mx.array) -> mx.array:
    return mx.conv1d(padded, weight, groups=weight.shape[0])


@_grouped_conv.vjp
def _grouped_conv_vjp(primals, cotangent, output):
    padded, weight = primals
    kernel, frames = weight.shape[1], cotangent.shape[1]
    # d padded[s] = Σ_k weight[k] · d out[s − k]: the same shifted sum over the cotangent padded by
    # K − 1 frames on each side, with the taps in reverse order.
    grad_padded = _shifted_sum(mx.pad(cotangent, [(0, 0), (kernel - 1, kernel - 1), (0, 0)]), weight[:, ::-1, 0].T)
    # d weight[c, k] = Σ_b,t d out[b, t, c] · padded[b, t + k, c]
    grad_weight = mx.stack([(cotangent * padded[:, k : k + frames]).sum(axis=(0, 1)) for k in range(kernel)], axis=1)
    return grad_padded, grad_weight[..., None]
