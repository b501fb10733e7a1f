"""The FSMN memory's depthwise convolution: both ways of computing it, and the gradient written for the
GPU's way, against MLX's own grouped conv1d and its autodiff gradient."""

import mlx.core as mx
import numpy as np
import pytest

from workbench.models.depthwise import _grouped_conv, _shifted_sum, depthwise_conv


def grouped_conv1d(padded, weight):
    return mx.conv1d(padded, weight, groups=weight.shape[0])


def shifted_sum(padded, weight):
    return _shifted_sum(padded, weight[:, :, 0].T)


@pytest.mark.parametrize("batch, frames, channels, kernel",
                         [(1, 1, 4, 11), (3, 50, 16, 11), (2, 37, 8, 20), (1, 9, 5, 1)])
def test_both_ways_and_the_written_gradient_match_mlx_conv1d(batch, frames, channels, kernel):
    padded = mx.random.normal((batch, frames + kernel - 1, channels), key=mx.random.key(0))
    weight = mx.random.normal((channels, kernel, 1), key=mx.random.key(1))
    # a loss that weighs every output differently, so a gradient landing on the wrong frame shows
    scale = mx.random.uniform(shape=(batch, frames, channels), key=mx.random.key(2))
    expected = grouped_conv1d(padded, weight)
    expected_grads = mx.grad(lambda p, w: (grouped_conv1d(p, w) * scale).sum(), argnums=(0, 1))(padded, weight)
    for way in (depthwise_conv, shifted_sum, _grouped_conv):
        np.testing.assert_allclose(way(padded, weight), expected, atol=1e-5)
        grads = mx.grad(lambda p, w, way=way: (way(p, w) * scale).sum(), argnums=(0, 1))(padded, weight)
        for got, want in zip(grads, expected_grads):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, atol=1e-4)
