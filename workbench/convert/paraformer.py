"""Upstream Paraformer directory (model.pt, config.yaml, am.mvn, tokens.json) → MLX model directory.

A SeACo-Paraformer directory converts too: its main path (encoder, CIF, decoder) is the plain
Paraformer, and its hotword modules are reported and skipped. Without hotwords SeACo's output
equals the plain decoding of that main path.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError
from ..frontend import CMVN
from ..models.paraformer import Paraformer, ParaformerConfig
from ..safe_dir import check_model_dir
from ..text import load_token_list
from .common import map_upstream_weights, read_upstream_config, write_model_dir

SUPPORTED = {"Paraformer", "SeacoParaformer"}
ENCODERS, DECODERS = {"SANMEncoder"}, {"ParaformerSANMDecoder"}
PREDICTORS = {"CifPredictorV2", "CifPredictorV3"}
# SeACo's hotword biasing and the V3 predictor's timestamp branch: not used by plain decoding.
SEACO_PREFIXES = (
    "bias_encoder.",
    "seaco_decoder.",
    "hotword_output_layer.",
    "predictor.upsample_cnn.",
    "predictor.blstm.",
    "predictor.cif_output2.",
)


def convert_paraformer(src: str | Path, dst: str | Path, overwrite: bool = False) -> list[str]:
    """Convert and return the list of skipped upstream keys (empty for plain Paraformer)."""
    src = Path(src)
    if not src.is_dir():
        raise CheckpointError(f"{src}: not a directory")
    check_model_dir(src)
    upstream = read_upstream_config(src)
    kind = upstream.get("model")
    if kind not in SUPPORTED:
        raise CheckpointError(f"{src}/config.yaml: model {kind!r} is not a Paraformer ({', '.join(sorted(SUPPORTED))})")
    for field, allowed in (("encoder", ENCODERS), ("decoder", DECODERS), ("predictor", PREDICTORS)):
        if upstream.get(field) not in allowed:
            raise CheckpointError(f"{src}/config.yaml: {field} {upstream.get(field)!r} is not supported")
    tokens = load_token_list(src / "tokens.json")
    cmvn_path = src / "am.mvn"
    CMVN.from_file(cmvn_path)  # fail now, not at first use, if it is missing or malformed

    frontend_conf = dict(upstream.get("frontend_conf") or {})
    frontend_conf["dither"] = 0.0  # inference is deterministic here; upstream dithers by default
    encoder_conf = dict(upstream.get("encoder_conf") or {})
    encoder_conf["input_size"] = frontend_conf.get("n_mels", 80) * frontend_conf.get("lfr_m", 1)
    config = ParaformerConfig.from_dict(
        {
            "vocab_size": len(tokens),
            "encoder_conf": encoder_conf,
            "decoder_conf": upstream.get("decoder_conf"),
            "predictor_conf": upstream.get("predictor_conf"),
            "frontend_conf": frontend_conf,
        }
    )
    model = Paraformer(config)
    skip = SEACO_PREFIXES if kind == "SeacoParaformer" else ()
    weights, skipped = map_upstream_weights(model, src, skip)
    write_model_dir(
        Path(dst),
        config.to_dict(),
        weights,
        copies={"am.mvn": cmvn_path, "tokens.json": src / "tokens.json"},
        overwrite=overwrite,
    )
    return skipped
