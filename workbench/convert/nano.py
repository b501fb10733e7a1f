"""Upstream Fun-ASR-Nano directory (model.pt, config.yaml, Qwen3-0.6B/) → MLX model directory.

The release stores every weight in one bf16 `model.pt` under `audio_encoder.`, `audio_adaptor.`
and `llm.`; the LLM's own config and tokenizer sit in `Qwen3-0.6B/`. Weights are converted to
fp32 (upstream runs inference in fp32; lower precisions are chosen at load time). The optional
CTC branch (`ctc_decoder.`, `ctc.`) is reported and skipped, and so is `llm.lm_head.weight`
when the embeddings are tied (it is a stored copy of the embedding table).
"""

from __future__ import annotations

import json
from pathlib import Path

import mlx.core as mx

from ..errors import CheckpointError
from ..models.fun_asr_nano import FunASRNano, FunASRNanoConfig
from ..prompt import NanoPrompt
from ..safe_dir import bare_name, check_model_dir
from .common import map_upstream_weights, read_upstream_config, write_model_dir

CTC_PREFIXES = ("ctc_decoder.", "ctc.")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def _llm_dir(src: Path, upstream: dict) -> Path:
    init = (upstream.get("llm_conf") or {}).get("init_param_path") or "Qwen3-0.6B"
    # Only ever inside the model directory, whatever the config says (upstream's names a path on
    # the training machine).
    path = src / bare_name(str(init), f"{src}/config.yaml: llm_conf.init_param_path")
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{src}: LLM config {path.name}/config.json is missing")
    return path


def convert_nano(src: str | Path, dst: str | Path, overwrite: bool = False) -> list[str]:
    """Convert and return the list of skipped upstream keys."""
    src = Path(src)
    if not src.is_dir():
        raise CheckpointError(f"{src}: not a directory")
    check_model_dir(src)
    upstream = read_upstream_config(src)
    if upstream.get("model") != "FunASRNano":
        raise CheckpointError(f"{src}/config.yaml: model {upstream.get('model')!r} is not FunASRNano")
    if upstream.get("audio_encoder") != "SenseVoiceEncoderSmall" or upstream.get("audio_adaptor") != "Transformer":
        raise CheckpointError(f"{src}/config.yaml: only SenseVoiceEncoderSmall + Transformer adaptor are supported")
    llm_dir = _llm_dir(src, upstream)
    try:
        llm_conf = json.loads((llm_dir / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{llm_dir}/config.json: not valid JSON ({exc})") from None
    if not isinstance(llm_conf, dict):
        raise CheckpointError(f"{llm_dir}/config.json: expected a JSON object")
    # Newer transformers versions nest rope_theta under rope_parameters.
    llm_conf.setdefault("rope_theta", (llm_conf.get("rope_parameters") or {}).get("rope_theta", 1_000_000.0))
    if (upstream.get("llm_conf") or {}).get("llm_dtype", "fp32") in ("bf16", "bfloat16"):
        llm_conf["rope_freq_dtype"] = "bfloat16"  # see Qwen3Config.rope_freq_dtype
    NanoPrompt(llm_dir / "tokenizer.json")  # fail now if the tokenizer is missing or not Qwen's

    frontend_conf = dict(upstream.get("frontend_conf") or {})
    frontend_conf["dither"] = 0.0
    frontend_conf.pop("cmvn_file", None)
    encoder_conf = dict(upstream.get("audio_encoder_conf") or {})
    encoder_conf["input_size"] = frontend_conf.get("n_mels", 80) * frontend_conf.get("lfr_m", 7)
    adaptor_conf = dict(upstream.get("audio_adaptor_conf") or {})
    # Upstream overwrites these from the built encoder and LLM; resolve them the same way.
    adaptor_conf["encoder_dim"] = encoder_conf.get("output_size", 512)
    adaptor_conf["llm_dim"] = llm_conf.get("hidden_size")
    config = FunASRNanoConfig.from_dict(
        {"audio_encoder_conf": encoder_conf, "audio_adaptor_conf": adaptor_conf, "llm_conf": llm_conf,
         "frontend_conf": frontend_conf}
    )
    model = FunASRNano(config)
    skip = CTC_PREFIXES + (("llm.lm_head.",) if config.llm_conf.tie_word_embeddings else ())
    weights, skipped = map_upstream_weights(model, src, skip)
    weights = {k: v.astype(mx.float32) for k, v in weights.items()}
    write_model_dir(
        Path(dst),
        config.to_dict(),
        weights,
        copies={name: llm_dir / name for name in TOKENIZER_FILES if (llm_dir / name).is_file()},
        overwrite=overwrite,
    )
    return skipped
