"""Pitch features for the frontend's optional `pitch` extension (not upstream's: no FunASR model has it).

Mandarin's tones are pitch contours, and the log-mel filterbank barely carries them for low voices:
at 80-100 Hz the harmonics lie closer together than a 25 ms window can separate, and a voice's
register differs from another's by more than a tone moves it. Kaldi's Mandarin recipes append pitch
features to the filterbank for this reason; these are two of the same kind, per fbank frame:

- voicing: the peak normalised cross-correlation (NCCF) of the frame with itself one period later,
  near 1 in a vowel, low in silence and noise;
- relative log pitch: log F0 minus its voicing-weighted mean over the surrounding 1.5 s, so that a
  tone reads the same in every voice's register (0 where the frame is unvoiced);
- its slope: the change of the relative log pitch per frame, which tells a rise from a fall;
- the register itself: log F0 against 150 Hz, low for men and high for women and children.
Four, not three as Kaldi's: (80 + 4) × 7 LFR features make 588, a multiple of 4; 574 of (80 + 2)
crashed MLX-CUDA's LayerNorm with an illegal memory access (scripts/gpu/README.md, the
twenty-fourth run).
"""

from __future__ import annotations

import numpy as np

F0_MIN, F0_MAX = 60.0, 400.0  # Hz: the low male voices to the high female ones
VOICED = 0.5  # NCCF above which a frame's pitch counts
QUIET = 1e-3  # energy (-30 dB) under the 95th-percentile frame's below which a frame is unvoiced
MEAN_WINDOW_S = 1.5  # the span whose mean pitch is the speaker's register, as in Kaldi's pitch features
N_PITCH = 4  # features per frame: voicing, relative log pitch, its slope, register
REGISTER_HZ = 150.0  # the register feature's zero


def _nccf(frames: np.ndarray, ahead: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """[frames, lags] normalised cross-correlation of each frame (window w) with the w samples `lag` later,
    from `ahead` [frames, w + max lag], the signal from each frame's start."""
    w = frames.shape[1]
    n_fft = 1 << int(np.ceil(np.log2(ahead.shape[1] + w)))
    # corr[lag] = Σ_n frame[n] · ahead[n + lag], all lags at once through the FFT.
    corr = np.fft.irfft(np.conj(np.fft.rfft(frames, n_fft)) * np.fft.rfft(ahead, n_fft), n_fft)[:, lags]
    energy = np.cumsum(np.pad(ahead.astype(np.float64) ** 2, [(0, 0), (1, 0)]), axis=1)
    e_lag = energy[:, lags + w] - energy[:, lags]
    e_0 = energy[:, w:w + 1]
    return corr / np.sqrt(np.maximum(e_0 * e_lag, 1e-12))


def pitch_features(waveform: np.ndarray, fs: int, window: int, shift: int) -> np.ndarray:
    """[frames, N_PITCH] for the same frames as `frontend.kaldi_fbank` (start i·shift, `window` samples)."""
    x = np.asarray(waveform, dtype=np.float64)
    x = x - x.mean()
    n_frames = 1 + (len(x) - window) // shift
    lags = np.arange(int(fs / F0_MAX), int(np.ceil(fs / F0_MIN)) + 1)
    padded = np.pad(x, (0, lags[-1]))
    ahead = np.lib.stride_tricks.sliding_window_view(padded, window + lags[-1])[::shift][:n_frames]
    nccf = _nccf(ahead[:, :window], ahead, lags)
    rows = np.arange(n_frames)
    best = nccf.argmax(axis=1)
    voicing = np.clip(nccf[rows, best], 0.0, 1.0)
    # A frame correlates as well with itself two periods later as one: where the peak at half the
    # best lag comes near the best, that half lag is the period (else the pitch reads an octave low).
    for _ in range(2):
        half = np.clip(np.rint(lags[best] / 2).astype(int) - lags[0], 0, None)
        around = np.clip(half[:, None] + np.arange(-2, 3)[None, :], 0, len(lags) - 1)
        local = around[rows, nccf[rows[:, None], around].argmax(axis=1)]
        take = (lags[best] / 2 >= lags[0]) & (nccf[rows, local] >= 0.85 * voicing)
        best = np.where(take, local, best)
    # The peak between lags: a parabola through it and its neighbours. A whole-sample lag moves the
    # pitch in steps of about 1 % at 200 Hz, coarser than a tone changes it from one frame to the next.
    inner = np.clip(best, 1, len(lags) - 2)
    y0, y1, y2 = (nccf[rows, inner + d] for d in (-1, 0, 1))
    curve = y0 - 2 * y1 + y2
    offset = np.where(curve < 0, 0.5 * (y0 - y2) / np.where(curve < 0, curve, -1.0), 0.0)
    log_f0 = np.log(fs / (lags[inner] + np.clip(offset, -0.5, 0.5)))
    # Near-silence and hiss correlate with themselves too (digital silence perfectly): a voiced frame
    # has energy within QUIET of the loud frames', and a peak inside the lag range, not at its end.
    energy = (ahead[:, :window] ** 2).sum(axis=1)
    loud = energy > QUIET * np.percentile(energy, 95)
    voicing = np.where(loud & (best > 0) & (best < len(lags) - 1), voicing, 0.0)
    weight = np.where(voicing > VOICED, voicing, 0.0)
    # Each frame's register: the voicing-weighted mean log F0 of the MEAN_WINDOW_S around it.
    half_span = int(MEAN_WINDOW_S * fs / shift) // 2
    def window_sum(v):
        c = np.concatenate([[0.0], np.cumsum(v)])
        hi = np.minimum(np.arange(n_frames) + half_span + 1, n_frames)
        lo = np.maximum(np.arange(n_frames) - half_span, 0)
        return c[hi] - c[lo]
    register = window_sum(weight * log_f0) / np.maximum(window_sum(weight), 1e-9)
    voiced = weight > 0
    relative = np.where(voiced, log_f0 - register, 0.0)
    slope = np.where(voiced, np.gradient(relative) if n_frames > 1 else 0.0, 0.0)
    level = np.where(voiced, log_f0 - np.log(REGISTER_HZ), 0.0)
    return np.stack([voicing, relative, slope, level], axis=1).astype(np.float32)
