"""ReLU and SiLU as plain MLX ops, used instead of `mlx.nn.relu` / `mlx.nn.silu`.

MLX's own activations are `mx.compile`d, and MLX (0.32) keeps a compile cache per thread that
holds Python objects. A thread that ran a compiled function and ends while the interpreter
shuts down (a worker pool's threads do) aborts the whole process ("terminate called without an
active exception"), after all its work succeeded. Pipelines are called from such threads (the
app, servers, thread pools), so the inference path compiles nothing. Fusing one elementwise op
was worth no measurable time here.
"""

import mlx.core as mx


def relu(x: mx.array) -> mx.array:
    return mx.maximum(x, 0)


def silu(x: mx.array) -> mx.array:
    return x * mx.sigmoid(x)
