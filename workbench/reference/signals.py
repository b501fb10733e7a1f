"""Deterministic speech-like test signals for parity tests.

Models with random weights do not care what is said, but the frontend comparison does care about
the spectrum: a pure tone in digital silence leaves mel bands with energies 1e-8 below the peak,
where every float32 FFT (ours, kaldi-native-fbank's, torchaudio's) is dominated by rounding.
Real recordings have a noise floor; so do these: voiced "syllables" (a glottal-like harmonic
series with a moving pitch and formant-like weighting) separated by pauses, over background noise.
"""

import numpy as np

RATE = 16000


def speech_like(seconds: float, seed: int, noise_db: float = -50.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * RATE))
    t = np.arange(n) / RATE
    out = np.zeros(n)
    start = rng.uniform(0.0, 0.2)
    while start < seconds:
        length = rng.uniform(0.12, 0.35)
        sel = (t >= start) & (t < start + length)
        local = t[sel] - start
        f0 = rng.uniform(90, 240) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(1, 4) * local))
        phase = 2 * np.pi * np.cumsum(f0) / RATE
        formants = rng.uniform([300, 900, 2200], [900, 2200, 3500])
        voiced = sum(
            np.sin(k * phase) / k * sum(np.exp(-((k * f0.mean() - f) / 250.0) ** 2) for f in formants)
            + 0.02 * np.sin(k * phase) / k
            for k in range(1, 30)
            if k * f0.mean() < RATE / 2
        )
        envelope = np.sin(np.pi * local / length) ** 2
        out[sel] += rng.uniform(0.1, 0.5) * envelope * voiced / (np.abs(voiced).max() + 1e-9)
        start += length + (rng.uniform(0.3, 0.8) if rng.random() < 0.15 else rng.uniform(0.0, 0.08))
    out += 10 ** (noise_db / 20) * rng.standard_normal(n)
    return np.clip(out, -1, 1).astype(np.float32)
