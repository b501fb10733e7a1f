"""WavFrontend: Kaldi log-mel filterbank → low frame rate (LFR) stacking → CMVN.

Matches FunASR's frontend with dither 0 (upstream dithers by default, which makes its output
random; we never dither, so runs are reproducible). Computed in float32 numpy on the host: it is
a few milliseconds even for long clips and keeps the frontend bit-for-bit independent of the
accelerator.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE, check_samples
from .errors import AudioError, CheckpointError
from .pitch import N_PITCH, pitch_features

FLOAT32_EPS = np.finfo(np.float32).eps  # Kaldi floors the mel energies at this before the log
WINDOWS = ("hamming", "hanning", "povey")


@dataclass
class FrontendConf:
    """Upstream `frontend_conf` (WavFrontend)."""

    fs: int = 16000
    window: str = "hamming"
    n_mels: int = 80
    frame_length: int = 25  # ms
    frame_shift: int = 10  # ms
    lfr_m: int = 7
    lfr_n: int = 6
    dither: float = 0.0
    upsacle_samples: bool = True  # (sic) upstream's spelling
    # Not upstream's: append `pitch.pitch_features` (voicing, relative log F0, its slope, register)
    # to each fbank frame before LFR, for demo models that must hear low voices' tones. Upstream
    # checkpoints never set it.
    pitch: bool = False
    # The pitch features are multiplied by this. A model with CMVN rescales every feature anyway;
    # Nano has none, and its first LayerNorm divides each frame by the mel bins' spread (2.8 over
    # the sample clips), beside which pitch features at their own scale (relative log F0: 0.15)
    # barely move anything. nano-demo trained with them never learnt the tones (45.7 % of male
    # drills' tones right, chance 41 %); with this gain a CPU twin learnt no more tone in 600
    # steps (scripts/gpu/README.md, the twenty-eighth run), so it is not shown to be enough.
    pitch_gain: float = 1.0

    def __post_init__(self):  # refused at load, not at the first transcription
        if not self.pitch_gain > 0:
            raise CheckpointError(f"frontend_conf.pitch_gain = {self.pitch_gain}: it must be positive")
        if self.fs != SAMPLE_RATE:  # every pipeline feeds the frontend 16 kHz audio
            raise CheckpointError(f"frontend_conf.fs = {self.fs}: only {SAMPLE_RATE} Hz models are supported")
        if self.window not in WINDOWS:
            raise CheckpointError(f"frontend window {self.window!r} is not supported ({', '.join(WINDOWS)})")

    @property
    def window_samples(self) -> int:
        return int(self.fs * self.frame_length * 0.001)

    @property
    def shift_samples(self) -> int:
        return int(self.fs * self.frame_shift * 0.001)

    @property
    def output_dim(self) -> int:
        return self.frame_dim * self.lfr_m

    @property
    def frame_dim(self) -> int:
        """Features per fbank frame before LFR stacking: the mel bins, then any pitch features."""
        return self.n_mels + (N_PITCH if self.pitch else 0)

    def frames_before(self, seconds: float) -> int:
        """How many LFR frames lie before the moment `seconds` (never fewer than 0).

        LFR frame i is centred on fbank frame lfr_n·i, whose window is centred frame_length/2
        after its start, so it lies before the moment when its centre time does."""
        hop, centre = self.lfr_n * self.frame_shift / 1000, self.frame_length / 2000
        return max(int(np.ceil((seconds - centre) / hop)), 0)


def _window(kind: str, size: int) -> np.ndarray:
    n = np.arange(size, dtype=np.float64)
    if kind == "hamming":  # symmetric (periodic=False), as torch.hamming_window in Kaldi mode
        w = 0.54 - 0.46 * np.cos(2 * np.pi * n / (size - 1))
    elif kind == "hanning":
        w = 0.5 - 0.5 * np.cos(2 * np.pi * n / (size - 1))
    else:  # "povey"; FrontendConf admits no other
        w = (0.5 - 0.5 * np.cos(2 * np.pi * n / (size - 1))) ** 0.85
    return w.astype(np.float32)


def _mel(freq):
    return 1127.0 * np.log(1.0 + np.asarray(freq, dtype=np.float64) / 700.0)


def mel_banks(n_mels: int, n_fft: int, fs: int, low_freq: float = 20.0) -> np.ndarray:
    """Kaldi's triangular mel filters [n_mels, n_fft//2 + 1], triangles in the mel domain.

    The Nyquist bin gets weight zero, as in Kaldi.
    """
    mel_lo, mel_hi = _mel(low_freq), _mel(fs / 2)
    delta = (mel_hi - mel_lo) / (n_mels + 1)
    left = mel_lo + np.arange(n_mels)[:, None] * delta
    centre, right = left + delta, left + 2 * delta
    bin_mel = _mel(np.arange(n_fft // 2) * fs / n_fft)[None, :]
    up = (bin_mel - left) / (centre - left)
    down = (right - bin_mel) / (right - centre)
    weights = np.maximum(0.0, np.minimum(up, down))
    return np.pad(weights, [(0, 0), (0, 1)]).astype(np.float32)


def kaldi_fbank(waveform: np.ndarray, conf: FrontendConf) -> np.ndarray:
    """Log-mel filterbank [frames, n_mels] of a 16 kHz float waveform in [-1, 1].

    Kaldi defaults as FunASR uses them: snip_edges (only whole windows), DC removal per frame,
    pre-emphasis 0.97 with the first sample replicated, power spectrum on a zero-padded
    power-of-two FFT, no energy column.
    """
    x = np.asarray(waveform)
    if x.ndim != 1 or x.dtype.kind != "f":
        raise AudioError(f"the frontend takes a 1-D float waveform, got {x.dtype} of shape {x.shape}")
    check_samples(x, "audio")
    x = x.astype(np.float32)
    if conf.upsacle_samples:
        x = x * np.float32(32768.0)  # int16 scale: CMVN statistics were computed at this scale
    size, shift = conf.window_samples, conf.shift_samples
    if len(x) < size:
        raise AudioError(
            f"audio is {1000 * len(x) / conf.fs:.1f} ms long; at least {conf.frame_length} ms "
            f"(one analysis window) is needed"
        )
    n_frames = 1 + (len(x) - size) // shift
    frames = np.lib.stride_tricks.sliding_window_view(x, size)[::shift][:n_frames]
    frames = frames - frames.mean(axis=1, keepdims=True)
    previous = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = (frames - np.float32(0.97) * previous) * _window(conf.window, size)
    n_fft = 1 << math.ceil(math.log2(size))
    spectrum = np.fft.rfft(frames, n=n_fft, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    energies = power @ mel_banks(conf.n_mels, n_fft, conf.fs).T
    return np.log(np.maximum(energies, FLOAT32_EPS)).astype(np.float32)


def apply_lfr(feats: np.ndarray, lfr_m: int, lfr_n: int) -> np.ndarray:
    """Stack lfr_m consecutive frames every lfr_n frames: [M, F] → [ceil(M/lfr_n), lfr_m·F].

    With 7/6 each output frame covers 70 ms and advances 60 ms. The sequence is padded on the
    left with (lfr_m-1)//2 copies of the first frame, so output i is centred on input frame
    lfr_n·i, and on the right with copies of the last frame.
    """
    M = feats.shape[0]
    T = -(-M // lfr_n)
    left = (lfr_m - 1) // 2
    right = max(0, (T - 1) * lfr_n + lfr_m - (M + left))
    padded = np.concatenate([np.repeat(feats[:1], left, 0), feats, np.repeat(feats[-1:], right, 0)])
    index = np.arange(T)[:, None] * lfr_n + np.arange(lfr_m)[None, :]
    return padded[index].reshape(T, lfr_m * feats.shape[1])


@dataclass
class CMVN:
    """Global mean/variance normalisation from a Kaldi nnet1 `am.mvn`: (x + shift) · scale."""

    shift: np.ndarray
    scale: np.ndarray
    source: str = "am.mvn"  # where it was read, for errors

    @classmethod
    def from_file(cls, path: str | Path) -> "CMVN":
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: CMVN file am.mvn is missing")
        text = path.read_text(errors="replace")

        def vector(tag: str) -> np.ndarray:
            # Read the bracketed vector that follows the tag. Taking "the first two [...]"
            # blocks instead would pick up <Splice>'s "[ 0 ]" as the shift.
            match = re.search(re.escape(tag) + r"[^\[]*\[([^\]]*)\]", text)
            if match is None:
                raise CheckpointError(f"{path}: no {tag} vector found; not a Kaldi nnet1 CMVN file")
            try:
                return np.array(match.group(1).split(), dtype=np.float32)
            except ValueError:
                raise CheckpointError(f"{path}: {tag} vector contains non-numbers") from None

        shift, scale = vector("<AddShift>"), vector("<Rescale>")
        if shift.shape != scale.shape or shift.size == 0:
            raise CheckpointError(f"{path}: <AddShift> has {shift.size} values but <Rescale> has {scale.size}")
        return cls(shift, scale, str(path))

    def to_text(self) -> str:
        """The upstream Kaldi nnet1 layout, so trained demo models ship an ordinary am.mvn."""
        d = self.shift.shape[0]
        vec = lambda v: " ".join(f"{x:.8g}" for x in v)  # noqa: E731
        return (
            f"<Nnet>\n<Splice> {d} {d}\n[ 0 ]\n<AddShift> {d} {d}\n<LearnRateCoef> 0 [ {vec(self.shift)} ]\n"
            f"<Rescale> {d} {d}\n<LearnRateCoef> 0 [ {vec(self.scale)} ]\n</Nnet>\n"
        )

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        if feats.shape[-1] != self.shift.shape[0]:
            raise CheckpointError(f"am.mvn is {self.shift.shape[0]}-dimensional but features are {feats.shape[-1]}")
        return ((feats + self.shift) * self.scale).astype(np.float32)


class WavFrontend:
    """waveform → (fbank [M, n_mels], features [T, frame_dim·lfr_m])."""

    def __init__(self, conf: FrontendConf, cmvn: CMVN | None = None):
        if cmvn is not None and cmvn.shift.shape[0] != conf.output_dim:  # refused at load, not at the first clip
            raise CheckpointError(f"{cmvn.source} is {cmvn.shift.shape[0]}-dimensional but the frontend gives "
                                  f"{conf.output_dim} features")
        self.conf = conf
        self.cmvn = cmvn

    def __call__(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        conf = self.conf
        fbank = kaldi_fbank(waveform, conf)
        frames = fbank
        if conf.pitch:
            pitch = pitch_features(waveform, conf.fs, conf.window_samples, conf.shift_samples) * conf.pitch_gain
            frames = np.concatenate([fbank, pitch], axis=1)
        feats = apply_lfr(frames, conf.lfr_m, conf.lfr_n)
        if self.cmvn is not None:
            feats = self.cmvn(feats)
        return fbank, feats
