"""Audio input: any file libsndfile reads, or an array, as 16 kHz mono float32 in [-1, 1]."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

SAMPLE_RATE = 16000


def load_audio(source, sample_rate: int | None = None, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read `source` and return a mono float32 waveform at `target_rate`.

    `source` is a path, an array (give its `sample_rate`; 2-D arrays are [samples, channels])
    or a `(sample_rate, array)` tuple as Gradio's audio component delivers it. Integer arrays
    are scaled by their type's range. Channels are averaged, like FunASR's loader.
    Resampling uses libsoxr's band-limited 'very high quality' filter.
    """
    if isinstance(source, tuple) and len(source) == 2 and np.isscalar(source[0]):
        sample_rate, source = int(source[0]), source[1]
    if isinstance(source, (str, Path)):
        data, sample_rate = _read_file(Path(source))
        name = str(source)
    else:
        if sample_rate is None:
            raise AudioError("an audio array needs its sample_rate")
        data = _as_float(np.asarray(source))
        name = "audio array"
    if data.ndim == 2:
        data = data.mean(axis=1)
    if data.ndim != 1:
        raise AudioError(f"{name}: expected [samples] or [samples, channels], got shape {data.shape}")
    if data.size == 0:
        raise AudioError(f"{name}: contains no samples")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{name}: contains NaN or infinite samples")
    if sample_rate <= 0:
        raise AudioError(f"{name}: invalid sample rate {sample_rate}")
    if sample_rate != target_rate:
        data = soxr.resample(data, sample_rate, target_rate, quality="VHQ")
    return np.ascontiguousarray(data, dtype=np.float32)


def _as_float(data: np.ndarray) -> np.ndarray:
    if np.issubdtype(data.dtype, np.integer):
        info = np.iinfo(data.dtype)
        return (data.astype(np.float64) / (info.max + 1)).astype(np.float32)
    if np.issubdtype(data.dtype, np.floating):
        return data.astype(np.float32)
    raise AudioError(f"audio array has unsupported dtype {data.dtype}")


def _read_file(path: Path) -> tuple[np.ndarray, int]:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        detail = str(exc).split(":")[-1].strip() or "unreadable"
        raise AudioError(f"{path}: not a readable audio file ({detail})") from None
    return data, rate
