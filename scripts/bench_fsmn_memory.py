"""The FSMN memory (a depthwise convolution over time) timed three ways in the same run: MLX's grouped
`conv1d`, a sum of the kernel's shifted, weighted copies of the input, and
`workbench.models.depthwise.depthwise_conv` (what `sanm.fsmn_memory` uses: the faster of the two
on each device, with the shifted sums as the gradient on the GPU). Prints the median of repeated
runs per shape, forward only and forward plus backward (training), and the largest difference.

    .venv/bin/python scripts/bench_fsmn_memory.py [--repeat 10]

Runs on MLX's default device: the CPU here, the GPU with mlx-cuda.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import mlx.core as mx

from workbench.models.depthwise import _shifted_sum, depthwise_conv

# name → (batch, frames, channels, kernel, frames into the past)
SHAPES = {
    "paraformer-large encoder, 10 s": (1, 167, 512, 11, 5),
    "paraformer-demo encoder, 10 s": (1, 167, 256, 11, 5),
    "paraformer-demo training batch": (100, 240, 256, 11, 5),
    "FSMN-VAD, 10 minutes": (1, 60273, 128, 20, 19),
}


# The three ways, each given the input padded as `sanm.fsmn_memory` pads it.
WAYS = {
    "conv1d": lambda padded, w: mx.conv1d(padded, w, groups=w.shape[0]),
    "shifted sums": lambda padded, w: _shifted_sum(padded, w[:, :, 0].T),
    "depthwise_conv": depthwise_conv,
}


def memory(way, x: mx.array, w: mx.array, left: int) -> mx.array:
    """The FSMN memory of `x` by `way`, the padding included, as in the model."""
    kernel = w.shape[1]
    return way(mx.pad(x, [(0, 0), (left, kernel - 1 - left), (0, 0)]), w)


def median_ms(run, repeat: int) -> float:
    mx.eval(run())
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        mx.eval(run())
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    for name, (batch, frames, channels, kernel, left) in SHAPES.items():
        x = mx.random.normal((batch, frames, channels), key=mx.random.key(0))
        w = mx.random.normal((channels, kernel, 1), key=mx.random.key(1)) * 0.1
        difference = memory(WAYS["conv1d"], x, w, left) - memory(WAYS["shifted sums"], x, w, left)
        row = {"shape": name, "device": str(mx.default_device()), "max_difference": mx.abs(difference).max().item()}
        for label, way in WAYS.items():
            # Not compiled: the workbench runs its models eagerly.
            grad = mx.grad(lambda x, w, way=way: memory(way, x, w, left).square().sum(), argnums=(0, 1))
            row[f"{label} forward ms"] = round(median_ms(lambda: memory(way, x, w, left), args.repeat), 3)
            row[f"{label} forward+backward ms"] = round(median_ms(lambda: grad(x, w), args.repeat), 3)
        print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
