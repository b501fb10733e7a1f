"""What every converter shares: reading the upstream directory, mapping weights, atomic output."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import yaml

from ..errors import CheckpointError
from ..weights import check_weights
from .torch_checkpoint import read_torch_checkpoint


def read_upstream_config(src: Path) -> dict:
    path = src / "config.yaml"
    if not path.is_file():
        raise CheckpointError(f"{src}: config.yaml is missing; expected an upstream FunASR model directory")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CheckpointError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: expected a mapping at the top level")
    return config


def conv_weight_keys(model: nn.Module) -> set[str]:
    """Keys of Conv1d weights: PyTorch stores [out, in/groups, k], MLX wants [out, k, in/groups]."""
    return {f"{name}.weight" for name, module in model.named_modules() if isinstance(module, nn.Conv1d)}


def map_upstream_weights(
    model: nn.Module, src: Path, skip_prefixes: tuple[str, ...] = ()
) -> tuple[dict[str, mx.array], list[str]]:
    """Read `src/model.pt` and return (weights in MLX layout, names of skipped keys).

    Keys under `skip_prefixes` belong to modules inference does not use (SeACo hotword
    modules, CTC heads): they are reported, not loaded. Everything else must match the model.
    """
    state = read_torch_checkpoint(src / "model.pt")
    skipped = sorted(k for k in state if k.startswith(skip_prefixes))
    convs = conv_weight_keys(model)
    weights = {}
    for key, value in state.items():
        if key in skipped:
            continue
        if key in convs and value.ndim == 4 and value.shape[-1] == 1:
            value = value[..., 0]  # a Conv2d with a [k, 1] kernel over (time, 1) is a Conv1d (FSMN-VAD)
        if key in convs and value.ndim == 3:
            value = value.transpose(0, 2, 1)
        weights[key] = value
    check_weights(model, weights, str(src / "model.pt"))
    return weights, skipped


def write_model_dir(
    dst: Path, config: dict, weights: dict[str, mx.array], copies: dict[str, Path], overwrite: bool = False
) -> None:
    """Write config.json, model.safetensors and side files into `dst` atomically.

    Everything is written into a temporary sibling directory and renamed into place at the end,
    so an interrupted or failed conversion never leaves a half-written model directory.
    """
    dst = Path(dst)
    if dst.exists() or dst.is_symlink():
        if not overwrite:
            raise CheckpointError(f"{dst}: already exists (pass --overwrite to replace it)")
        _check_replaceable(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    try:
        (tmp / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        mx.save_safetensors(str(tmp / "model.safetensors"), weights, metadata={"format": "mlx"})
        for name, source in copies.items():
            shutil.copyfile(source, tmp / name)
        if dst.exists():
            old = dst.with_name(f".{dst.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dst, old)
            try:
                os.replace(tmp, dst)
            except BaseException:
                os.replace(old, dst)  # put the previous model back rather than leave nothing
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_replaceable(dst: Path) -> None:
    """--overwrite replaces a model directory, never anything else a mistyped path names."""
    if dst.is_symlink() or not dst.is_dir():
        raise CheckpointError(f"{dst}: not a directory; --overwrite only replaces a model directory")
    if any(dst.iterdir()) and not (dst / "config.json").is_file():
        raise CheckpointError(f"{dst}: not a model directory (no config.json); refusing to replace it")
