"""A small, resumable MLX training loop shared by both demo models.

Checkpoints hold the model weights, the optimizer state and the step; batches are drawn from a
seeded generator that is replayed on resume, so a resumed run sees the same batches as an
uninterrupted one. Every `log_every` steps one JSON line goes to `log.jsonl` (the loss curve, and
where the steps' time went).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
from mlx.utils import tree_flatten, tree_unflatten


@dataclass
class TrainConfig:
    steps: int = 20000
    lr: float = 1e-3
    warmup: int = 1000
    weight_decay: float = 0.01
    grad_clip: float = 5.0
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 1000
    max_minutes: float = 0.0  # stop (and checkpoint) after this much wall time; 0 = no limit
    # Objective settings, kept here so train_config.json records the whole recipe.
    ctc_weight: float = 0.0  # auxiliary CTC loss on the encoder (models/ctc.py); 0 = no CTC head
    sampling_ratio: float = 0.75  # Paraformer's glancing ratio (upstream's default)
    quantity_weight: float = 1.0  # Paraformer's CIF quantity loss (upstream's predictor_weight)
    align_weight: float = 0.0  # Paraformer: CIF's running count at word starts (train/paraformer.py); 0 = off
    train_only: list[str] | None = None  # model parts the optimiser updates (run.py, `freeze_all_but`); None = all
    speed_perturb: list[float] | None = None  # speeds each utterance is heard at, one drawn per row (data.py)


def schedule(config: TrainConfig):
    warm = optim.linear_schedule(config.lr * 0.01, config.lr, config.warmup)
    decay = optim.cosine_decay(config.lr, max(config.steps - config.warmup, 1), config.lr * 0.02)
    return optim.join_schedules([warm, decay], [config.warmup])


def save_checkpoint(directory: Path, model: nn.Module, optimizer: optim.Optimizer, step: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    mx.save_safetensors(str(directory / "model.safetensors"), dict(tree_flatten(model.parameters())))
    mx.save_safetensors(str(directory / "optimizer.safetensors"), dict(tree_flatten(optimizer.state)))
    (directory / "state.json").write_text(json.dumps({"step": step}))


def load_checkpoint(directory: Path, model: nn.Module, optimizer: optim.Optimizer) -> int:
    model.load_weights(str(directory / "model.safetensors"))
    optimizer.state = tree_unflatten(list(mx.load(str(directory / "optimizer.safetensors")).items()))
    return json.loads((directory / "state.json").read_text())["step"]


def train(
    model: nn.Module,
    loss_fn: Callable[..., tuple[mx.array, dict]],
    batch_stream: Callable[[int], Iterator[list[int]]],
    make_batch: Callable[[list[int]], dict],
    config: TrainConfig,
    out: Path,
) -> nn.Module:
    """Run `config.steps` optimisation steps; `batch_stream(seed)` yields example indices forever
    and `make_batch` turns them into model inputs (only for batches actually trained on)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2))
    mx.random.seed(config.seed)
    optimizer = optim.AdamW(learning_rate=schedule(config), weight_decay=config.weight_decay)
    ckpt = out / "checkpoint"
    step = load_checkpoint(ckpt, model, optimizer) if (ckpt / "state.json").exists() else 0
    stream = batch_stream(config.seed)
    for _ in range(step):  # replay the batch order up to the resume point
        next(stream)
    value_and_grad = nn.value_and_grad(model, lambda m, b: loss_fn(m, b)[0])
    log = (out / "log.jsonl").open("a")
    start, window = time.time(), []
    # Where each step's wall time goes, summed over the log window: building and launching the
    # graph, waiting for the device to finish the step before, assembling the next batch. A large
    # wait means the device is the bottleneck; large graph or batch times mean the host is. (On
    # MLX's CPU backend launching the graph runs it, so there the step's compute counts as graph;
    # on its CUDA backend too, it seems: `wait_ms` stayed 0 with and without the CTC loss,
    # scripts/gpu/README.md, "The ninth run".)
    spent = dict.fromkeys(("graph_ms", "wait_ms", "batch_ms"), 0.0)
    model.train()
    batch = make_batch(next(stream))
    while step < config.steps:
        t0 = time.perf_counter()
        loss, grads = value_and_grad(model, batch)
        grads, norm = optim.clip_grad_norm(grads, config.grad_clip)
        optimizer.update(model, grads)
        # The device works on this step while the host assembles the next batch and builds the next
        # graph; waiting for the previous step keeps the host at most one step ahead.
        mx.async_eval(model.parameters(), optimizer.state, loss)
        t1 = time.perf_counter()
        if window:
            mx.eval(window[-1])
        t2 = time.perf_counter()
        step += 1
        window.append(loss)
        current, batch = batch, make_batch(next(stream)) if step < config.steps else None
        for key, seconds in zip(spent, (t1 - t0, t2 - t1, time.perf_counter() - t2)):
            spent[key] += seconds * 1000
        if step % config.log_every == 0 or step == config.steps:
            _, metrics = loss_fn(model, current)
            row = {"step": step, "loss": mx.stack(window).mean().item(), "grad_norm": norm.item(),
                   "lr": float(optimizer.learning_rate), "minutes": (time.time() - start) / 60,
                   **{k: float(v) for k, v in metrics.items()},
                   **{k: round(v / len(window), 1) for k, v in spent.items()}}  # per step
            log.write(json.dumps(row) + "\n")
            log.flush()
            print(json.dumps(row), flush=True)
            window = []
            spent = dict.fromkeys(spent, 0.0)
            if not math.isfinite(row["loss"]):
                raise FloatingPointError(f"loss became {row['loss']} at step {step}")
        out_of_time = config.max_minutes and (time.time() - start) / 60 > config.max_minutes
        if step % config.checkpoint_every == 0 or step == config.steps or out_of_time:
            save_checkpoint(ckpt, model, optimizer, step)
        if out_of_time:
            print(f"stopping at step {step}: max_minutes reached", flush=True)
            break
    model.eval()
    return model
