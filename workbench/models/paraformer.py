"""Paraformer: SAN-M encoder → CIF predictor → non-autoregressive SAN-M decoder.

The three stages are exposed separately (`encode`, `predict`, `decode`) so a pipeline can time
and inspect each; attribute names equal the upstream checkpoint keys (`encoder.*`,
`predictor.*`, `decoder.*`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mlx.core as mx
import mlx.nn as nn

from ..config import from_dict, to_dict
from ..errors import CheckpointError
from ..frontend import FrontendConf
from ..trace import NO_TRACE, Trace
from .cif import CifOutput, CifPredictorConf, CifPredictorV2, integrate_batch, rescale_alphas
from .paraformer_decoder import ParaformerDecoderConf, ParaformerSANMDecoder
from .sanm import SANMEncoder, SANMEncoderConf

LAYER_NORM_EPS = 1e-12  # Paraformer's SANMEncoder uses funasr's LayerNorm (eps 1e-12)
# Upstream class defaults (funasr Paraformer): ids that never reach the text.
BLANK_ID, SOS_ID, EOS_ID = 0, 1, 2


@dataclass
class ParaformerConfig:
    vocab_size: int = 8404
    encoder_conf: SANMEncoderConf = field(default_factory=SANMEncoderConf)
    decoder_conf: ParaformerDecoderConf = field(default_factory=ParaformerDecoderConf)
    predictor_conf: CifPredictorConf = field(default_factory=CifPredictorConf)
    frontend_conf: FrontendConf = field(default_factory=FrontendConf)

    @classmethod
    def from_dict(cls, d: dict) -> "ParaformerConfig":
        vocab_size = d.get("vocab_size")
        if not isinstance(vocab_size, int) or not 3 < vocab_size <= 1_000_000:
            raise CheckpointError(f"config vocab_size = {vocab_size!r} is missing or out of range")
        config = cls(
            vocab_size=vocab_size,
            encoder_conf=from_dict(SANMEncoderConf, d.get("encoder_conf"), "encoder_conf"),
            decoder_conf=from_dict(ParaformerDecoderConf, d.get("decoder_conf"), "decoder_conf"),
            predictor_conf=from_dict(CifPredictorConf, d.get("predictor_conf"), "predictor_conf"),
            frontend_conf=from_dict(FrontendConf, d.get("frontend_conf"), "frontend_conf"),
        )
        enc = config.encoder_conf
        if enc.input_size != config.frontend_conf.output_dim:
            raise CheckpointError(
                f"encoder input_size {enc.input_size} != the frontend's {config.frontend_conf.output_dim} features "
                "(n_mels, plus pitch features if any, × lfr_m)"
            )
        if enc.output_size % enc.attention_heads or enc.output_size != config.predictor_conf.idim:
            raise CheckpointError("encoder output_size must divide by attention_heads and equal predictor idim")
        if enc.output_size % config.decoder_conf.attention_heads:
            raise CheckpointError("encoder output_size must divide by decoder_conf.attention_heads")
        if config.predictor_conf.threshold != 1.0:  # CIF fires at integers (as every released Paraformer)
            raise CheckpointError(f"predictor_conf.threshold = {config.predictor_conf.threshold}: "
                                  "only 1.0 is supported")
        return config

    def to_dict(self) -> dict:
        return {"model_type": "paraformer", **to_dict(self)}


class Paraformer(nn.Module):
    def __init__(self, config: ParaformerConfig):
        super().__init__()
        self.config = config
        self.encoder = SANMEncoder(config.encoder_conf, eps=LAYER_NORM_EPS)
        self.predictor = CifPredictorV2(config.predictor_conf)
        d = config.encoder_conf.output_size
        self.decoder = ParaformerSANMDecoder(config.decoder_conf, config.vocab_size, d)

    def capture_names(self) -> list[str]:
        return self.encoder.capture_names() + ["predictor.alphas", "predictor.fires"] + self.decoder.capture_names()

    def encode(self, features: mx.array, mask: mx.array | None = None, trace: Trace = NO_TRACE) -> mx.array:
        return self.encoder(features, mask, trace)

    def predict(self, encoder_out: mx.array, lengths: list[int], mask=None, trace: Trace = NO_TRACE) -> CifOutput:
        return self.predictor(encoder_out, lengths, mask, trace)

    def decode(self, cif: CifOutput, encoder_out: mx.array, lengths: list[int], trace: Trace = NO_TRACE) -> mx.array:
        """Logits [B, max N, vocab]. Masks are only built when the batch is actually padded."""
        ragged = len(set(lengths)) > 1 or len(set(cif.token_num)) > 1
        token_lengths = mx.array(cif.token_num) if ragged else None
        memory_lengths = mx.array(lengths) if ragged else None
        return self.decoder(cif.embeds, token_lengths, encoder_out, memory_lengths, trace)

    def search_count(self, cif: CifOutput, encoder_out: mx.array, lengths: list[int], spread: int,
                     searched: list[bool], trace: Trace = NO_TRACE) -> tuple[CifOutput, list[dict[int, float]]]:
        """Count search: let the decoder arbitrate CIF's token count.

        CIF's count is the predictor's weakest guess where words are short or run together (on
        paraformer-demo's English, half the counts are off, nearly always by one). For each clip
        marked in `searched` that CIF gives N0 > 0 tokens, the alphas are rescaled to integrate to
        every count from N0 - spread to N0 + spread (N0 included, so the fires spread the same way
        for every candidate), all candidates are decoded in one batch, and the count whose argmax
        tokens have the highest mean log-probability wins. Not an upstream decoding mode: it costs
        a decoder pass over a batch of 2·spread + 1 candidates per clip and is off unless asked for.

        Returns the CIF output with the chosen counts (rescaled alphas and their fires; the other
        clips unchanged) and, per clip, each tried count's mean log-probability. The captured
        `predictor.alphas` and `predictor.fires` become the chosen ones, the weights the tokens
        are integrated from.
        """
        trials = [(b, n) for b, n0 in enumerate(cif.token_num) if n0 > 0 and searched[b]
                  for n in range(max(1, n0 - spread), n0 + spread + 1)]
        scores: list[dict[int, float]] = [{} for _ in lengths]
        if not trials:
            return cif, scores
        rows = mx.array([b for b, _ in trials])
        trial_lengths = [lengths[b] for b, _ in trials]
        memory = encoder_out[rows]
        trial = integrate_batch(memory, [rescale_alphas(cif.alphas[b], n) for b, n in trials], [0.0] * len(trials))
        logits = self.decode(trial, memory, trial_lengths)
        best = mx.max(logits - mx.logsumexp(logits, axis=-1, keepdims=True), axis=-1)
        counts = mx.array(trial.token_num)
        valid = mx.arange(best.shape[1])[None] < counts[:, None]
        means = (mx.where(valid, best, 0.0).sum(axis=-1) / counts).tolist()
        for (b, n), mean in zip(trials, means):
            scores[b][n] = mean
        alphas = [rescale_alphas(a, max(s, key=s.get)) if s else a for a, s in zip(cif.alphas, scores)]
        tails = [0.0 if s else self.config.predictor_conf.tail_threshold for s in scores]
        chosen = integrate_batch(encoder_out, alphas, tails)
        trace.put("predictor.alphas", chosen.alphas)
        trace.put("predictor.fires", chosen.fires)
        return chosen, scores
