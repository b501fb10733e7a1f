"""`workbench.load`: a converted model directory (or a bundled demo's name) → a ready pipeline.

A model directory holds `config.json` (upstream field names plus `model_type`),
`model.safetensors` and the model's text/feature side files (`tokens.json`, `am.mvn`, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import CheckpointError
from .pipelines.nano import NanoPipeline
from .pipelines.paraformer import ParaformerPipeline
from .safe_dir import check_model_dir
from .weights import read_safetensors

PIPELINES = {"paraformer": ParaformerPipeline, "fun_asr_nano": NanoPipeline}
BUNDLED_DIR = Path(__file__).parent / "bundled"


def resolve_model_path(path_or_name: str | Path) -> Path:
    path = Path(path_or_name).expanduser()
    if path.is_dir():
        return path
    name = str(path_or_name)
    bundled = BUNDLED_DIR / name
    if Path(name).name == name and name not in (".", "..") and bundled.is_dir():  # a bare name, never a path
        return bundled
    names = sorted(p.name for p in BUNDLED_DIR.iterdir() if p.is_dir()) if BUNDLED_DIR.is_dir() else []
    hint = f"; bundled models: {', '.join(names)}" if names else ""
    raise CheckpointError(f"{path_or_name}: no such model directory{hint}")


def read_config(path: Path) -> dict:
    config_path = path / "config.json"
    if not config_path.is_file():
        raise CheckpointError(f"{path}: config.json is missing (convert upstream checkpoints with `workbench convert`)")
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{config_path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("model_type") not in PIPELINES:
        raise CheckpointError(f"{config_path}: model_type must be one of {sorted(PIPELINES)}")
    return config


def load(path_or_name: str | Path):
    """Load a model directory or a bundled model by name; returns its pipeline."""
    path = resolve_model_path(path_or_name)
    check_model_dir(path)
    config = read_config(path)
    weights = read_safetensors(path / "model.safetensors")
    return PIPELINES[config["model_type"]].from_dir(path, config, weights)
