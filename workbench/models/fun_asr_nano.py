"""Fun-ASR-Nano: SenseVoice SAN-M encoder → audio adaptor → Qwen3 LLM.

Attribute names equal the upstream checkpoint's prefixes (`audio_encoder.*`, `audio_adaptor.*`,
`llm.*`). The encoder is the same `SANMEncoder` as Paraformer's, built with SenseVoice's extra
`tp_encoders` stack and LayerNorm eps 1e-5; Nano applies no CMVN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mlx.core as mx
import mlx.nn as nn

from ..config import from_dict, to_dict
from ..errors import CheckpointError
from ..frontend import FrontendConf
from .adaptor import AdaptorConf, AudioAdaptor
from .qwen3 import Qwen3Config, Qwen3ForCausalLM
from .sanm import SANMEncoder, SANMEncoderConf

SENSEVOICE_LAYER_NORM_EPS = 1e-5  # SenseVoiceEncoderSmall uses torch's LayerNorm default


def n_audio_positions(T: int) -> int:
    """How many adaptor frames enter the LLM: upstream keeps only the first ceil(T/8).

    The adaptor does not downsample, but FunASRNano computes the audio span length as if three
    stride-2 convolutions had (the 'low frame rate' rule it was trained with) and inserts only
    that many frames. Written as upstream computes it; it equals ceil(T/8).
    """
    olens = 1 + (T - 3 + 2) // 2
    olens = 1 + (olens - 3 + 2) // 2
    return (olens - 1) // 2 + 1


@dataclass
class FunASRNanoConfig:
    audio_encoder_conf: SANMEncoderConf = field(default_factory=lambda: SANMEncoderConf(tp_blocks=20))
    audio_adaptor_conf: AdaptorConf = field(default_factory=AdaptorConf)
    llm_conf: Qwen3Config = field(default_factory=Qwen3Config)
    frontend_conf: FrontendConf = field(default_factory=FrontendConf)

    @classmethod
    def from_dict(cls, d: dict) -> "FunASRNanoConfig":
        config = cls(
            audio_encoder_conf=from_dict(SANMEncoderConf, d.get("audio_encoder_conf"), "audio_encoder_conf"),
            audio_adaptor_conf=from_dict(AdaptorConf, d.get("audio_adaptor_conf"), "audio_adaptor_conf"),
            llm_conf=from_dict(Qwen3Config, d.get("llm_conf"), "llm_conf"),
            frontend_conf=from_dict(FrontendConf, d.get("frontend_conf"), "frontend_conf"),
        )
        enc, ad, llm = config.audio_encoder_conf, config.audio_adaptor_conf, config.llm_conf
        if enc.input_size != config.frontend_conf.output_dim:
            raise CheckpointError(f"audio_encoder input_size {enc.input_size} != the frontend's "
                                  f"{config.frontend_conf.output_dim} features (n_mels, plus pitch features if any, "
                                  "× lfr_m)")
        if ad.encoder_dim != enc.output_size or ad.llm_dim != llm.hidden_size:
            raise CheckpointError("audio_adaptor encoder_dim/llm_dim must equal the encoder output "
                                  "and LLM hidden sizes")
        if (llm.num_attention_heads % llm.num_key_value_heads or ad.llm_dim % ad.attention_heads
                or enc.output_size % enc.attention_heads):
            raise CheckpointError("attention head counts do not divide the model dimensions")
        return config

    def to_dict(self) -> dict:
        return {"model_type": "fun_asr_nano", **to_dict(self)}


class FunASRNano(nn.Module):
    def __init__(self, config: FunASRNanoConfig):
        super().__init__()
        self.config = config
        self.audio_encoder = SANMEncoder(config.audio_encoder_conf, eps=SENSEVOICE_LAYER_NORM_EPS)
        self.audio_adaptor = AudioAdaptor(config.audio_adaptor_conf)
        self.llm = Qwen3ForCausalLM(config.llm_conf)

    def capture_names(self) -> list[str]:
        return self.audio_encoder.capture_names() + self.audio_adaptor.capture_names() + self.llm.capture_names()

    def set_llm_dtype(self, dtype: mx.Dtype) -> None:
        """Run the LLM in fp32, bf16 or fp16; the encoder and adaptor stay fp32 like upstream."""
        self.llm.set_dtype(dtype)
