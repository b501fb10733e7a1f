"""How many operations one paraformer-demo training step launches, with and without the CTC loss.

MLX runs a graph's operations one at a time, each with its own launch cost on the GPU, so the
operation count of a training step is one figure to watch when changing the objective (the CTC
loss was most of the demo's step graph: `scripts/gpu/README.md`, "The ninth run"). This builds
one step's graph (loss and gradients, nothing evaluated) for paraformer-demo's sizes and a batch
of random features, and counts its operations in `mx.export_to_dot`'s output, with the CTC loss
alone counted apart.

    python scripts/step_graph.py [--batch 100] [--frames 240] [--tokens 25]
"""

from __future__ import annotations

import argparse
import io
import re
import time

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten

from workbench.models.ctc import ctc_loss
from workbench.models.paraformer import Paraformer, ParaformerConfig
from workbench.train import paraformer as objective
from workbench.train.run import PARAFORMER_DEMO, Trainee

VOCAB = 2241  # paraformer-demo's tokens


def operations(*outputs: mx.array) -> int:
    dot = io.StringIO()
    mx.export_to_dot(dot, *outputs)
    return len(re.findall(r'label ="[A-Za-z]', dot.getvalue()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--frames", type=int, default=240, help="LFR frames of the longest utterance")
    parser.add_argument("--tokens", type=int, default=25)
    args = parser.parse_args()
    B, T, L = args.batch, args.frames, args.tokens
    rng = np.random.default_rng(0)
    batch = {"feats": mx.array(rng.normal(size=(B, T, 560)).astype(np.float32)),
             "feat_lens": mx.array(rng.integers(T * 5 // 6, T + 1, B)),
             "targets": mx.array(rng.integers(3, VOCAB - 1, (B, L)).astype(np.int32)),
             "target_lens": mx.array(np.full(B, L))}
    mx.eval(batch)

    logits = mx.array(rng.normal(size=(B, T, VOCAB)).astype(np.float32))
    ctc = lambda x: ctc_loss(x, batch["feat_lens"], batch["targets"], batch["target_lens"])  # noqa: E731
    loss, grad = mx.value_and_grad(ctc)(logits)
    print(f"CTC loss and its gradient: {operations(loss, grad)} operations")

    model = Paraformer(ParaformerConfig.from_dict({"vocab_size": VOCAB, **PARAFORMER_DEMO}))
    for ctc_weight in (0.0, 0.5):
        trainee = Trainee(model, VOCAB, 256, ctc_weight)
        mx.eval(trainee.parameters())
        step = nn.value_and_grad(trainee, lambda t, b: objective.loss_fn(
            t.model, b, sampling_ratio=0.0, ctc=t.ctc_head, ctc_weight=t.ctc_weight)[0])
        start = time.perf_counter()
        loss, grads = step(trainee, batch)
        built = time.perf_counter() - start
        count = operations(loss, *(g for _, g in tree_flatten(grads)))
        print(f"training step, CTC weight {ctc_weight}: {count} operations, graph built in {1000 * built:.0f} ms")


if __name__ == "__main__":
    main()
