"""Average the weights of two runs of one model: `workbench average A B --out DIR`.

A continuation moves a demo model a short way from where it started, and the decisions it
changes are not only the ones its corpus was built to teach: it may learn to read speech after
a long pause and forget a surname on the way. The plain average of the weights before and after
(checkpoint averaging, as upstream FunASR averages its best epochs) keeps much of both. Both
directories must hold the same model: the same configuration, vocabulary and normalisation, and
weights with the same names, shapes and types. The output is written whole or not at all.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import mlx.core as mx
from safetensors import safe_open

from ..errors import CheckpointError
from ..safe_dir import check_model_dir
from ..weights import read_safetensors

# Files that describe a run rather than the model; every other non-weight file must be identical.
RUN_FILES = ("train_log.jsonl", "MODEL_CARD.md")


def average_models(a: Path, b: Path, out: Path, weight: float = 0.5) -> list[str]:
    """Write `weight` × A + (1 − weight) × B to `out`, with B's other files; returns what it left out.

    A weight file in only one of the two (nano-demo ships no CTC head) is left out of `out`."""
    a, b, out = Path(a), Path(b), Path(out)
    if not 0.0 <= weight <= 1.0:
        raise CheckpointError(f"--weight is A's share of the average, 0 to 1, not {weight}")
    if out.exists():
        raise CheckpointError(f"{out} exists; averaging writes a new directory")
    for d in (a, b):
        if not (d / "config.json").is_file():
            raise CheckpointError(f"{d}: not a model directory (no config.json)")
        check_model_dir(d)
    names = {d: {p.name for p in d.iterdir() if p.is_file()} for d in (a, b)}
    weights = sorted(n for n in names[a] & names[b] if n.endswith(".safetensors"))
    if "model.safetensors" not in weights:
        raise CheckpointError(f"{a} and {b} must both hold model.safetensors")
    others = {n for d in (a, b) for n in names[d] if not n.endswith(".safetensors") and n not in RUN_FILES}
    for name in sorted(others):
        if name not in names[a] or name not in names[b] or (a / name).read_bytes() != (b / name).read_bytes():
            raise CheckpointError(f"{name} differs between {a} and {b}: not two runs of one model")
    averaged = {name: _average(read_safetensors(a / name), read_safetensors(b / name), weight, name)
                for name in weights}
    left_out = sorted(n for n in names[a] ^ names[b] if n.endswith(".safetensors"))

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        staged = Path(tmp) / out.name
        staged.mkdir()
        for name in sorted(others | ({"train_log.jsonl"} & names[b])):
            shutil.copyfile(b / name, staged / name)
        for name, tensors in averaged.items():
            with safe_open(b / name, "np") as source:  # MLX writes {"format": "mlx"}: kept as it was
                metadata = source.metadata() or {}
            mx.save_safetensors(str(staged / name), tensors, metadata=metadata)
        with open(staged / "train_log.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps({"averaged": {"a": str(a), "b": str(b), "weight_of_a": weight}}) + "\n")
        staged.rename(out)
    return left_out


def _average(ta: dict[str, mx.array], tb: dict[str, mx.array], weight: float, where: str) -> dict[str, mx.array]:
    if ta.keys() != tb.keys():
        only = sorted(ta.keys() ^ tb.keys())
        raise CheckpointError(f"{where}: {len(only)} weights in only one of the two, e.g. {only[0]}")
    out = {}
    for key, vb in tb.items():
        va = ta[key]
        if va.shape != vb.shape or va.dtype != vb.dtype:
            raise CheckpointError(f"{where}: {key} is {_describe(va)} in A, {_describe(vb)} in B")
        # Quantized weights and integer tables are not points on a line; averaging them would be garbage.
        if not mx.issubdtype(vb.dtype, mx.floating):
            raise CheckpointError(f"{where}: {key} is {_dtype(vb)}; only floating-point weights can be averaged")
        # float64 (the CPU has it) so that each fp16/bf16 result is the exact average rounded once
        with mx.stream(mx.cpu):
            out[key] = (weight * va.astype(mx.float64) + (1 - weight) * vb.astype(mx.float64)).astype(vb.dtype)
            mx.eval(out[key])
    return out


def _dtype(x: mx.array) -> str:
    return str(x.dtype).removeprefix("mlx.core.")


def _describe(x: mx.array) -> str:
    return f"{_dtype(x)}{list(x.shape)}"
