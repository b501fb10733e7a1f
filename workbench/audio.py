"""Audio input: any file libsndfile reads, or an array, as 16 kHz mono float32 in [-1, 1]."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

SAMPLE_RATE = 16000
# Rates outside this range are not speech recordings, and resampling from them is unsafe: a
# 1 Hz "rate" would ask for 16000 output samples per input sample (soxr also hangs on NaN).
MIN_RATE, MAX_RATE = 4000, 768000
# Float audio lies in [-1, 1]; louder signals still transcribe (the log-mel features barely
# depend on gain), but beyond this the float32 filterbank overflows. Integer PCM passed as
# float without scaling (int32: up to 2.1e9) is the usual way to get here.
MAX_PEAK = 1e6
# Files are decoded whole, as float32: beyond this (6 h of 48 kHz stereo, 18 h of 16 kHz mono)
# a file is refused before decoding rather than exhausting memory.
MAX_DECODED_BYTES = 2**32
# One int16 step. A clip that moves less than this around its mean holds nothing a 16-bit
# recording could store; see `has_signal`.
SILENCE_PEAK = 1 / 32768


def load_audio(source, sample_rate: int | None = None, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read `source` and return a mono float32 waveform at `target_rate`.

    `source` is a path, an array (give its `sample_rate`; 2-D arrays are [samples, channels])
    or a `(sample_rate, array)` tuple as Gradio's audio component delivers it. Integer arrays
    are scaled by their type's range. Channels are averaged, like FunASR's loader, unless they
    cancel (see `_mix_down`). Resampling uses libsoxr's band-limited 'very high quality' filter.
    """
    if isinstance(source, tuple) and len(source) == 2 and np.isscalar(source[0]):
        sample_rate, source = source
    if isinstance(source, (str, Path)):
        data, sample_rate = _read_file(Path(source))
        name = str(source)
    else:
        if sample_rate is None:
            raise AudioError("an audio array needs its sample_rate")
        data = _as_float(source)
        name = "audio array"
        if data.ndim == 2 and data.shape[1] > data.shape[0]:
            raise AudioError(f"{name}: shape {data.shape} has more channels than samples; "
                             "expected [samples, channels] (transpose a [channels, samples] array)")
    sample_rate = _check_rate(sample_rate, name)
    if data.size == 0:
        raise AudioError(f"{name}: contains no samples")
    check_samples(data, name)
    if data.ndim == 2:
        data = _mix_down(data)
    if data.ndim != 1:
        raise AudioError(f"{name}: expected [samples] or [samples, channels], got shape {data.shape}")
    if sample_rate != target_rate:
        data = soxr.resample(data, sample_rate, target_rate, quality="VHQ")
    return np.ascontiguousarray(data, dtype=np.float32)


def at_speed(waveform: np.ndarray, speed: float) -> np.ndarray:
    """16 kHz audio played `speed` times as fast at the same rate (sox's "speed"): fewer samples,
    so pitch and formants move with the tempo, the way another speaker's voice differs."""
    return soxr.resample(waveform, SAMPLE_RATE, SAMPLE_RATE / speed, quality="VHQ")


def check_samples(data: np.ndarray, name: str) -> None:
    """Refuse NaN/infinite samples and samples too large to be float audio (see MAX_PEAK)."""
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{name}: contains NaN or infinite samples")
    peak = float(np.abs(data).max(initial=0.0))
    if peak > MAX_PEAK:
        raise AudioError(f"{name}: samples reach {peak:.3g}, but float audio lies in [-1, 1] "
                         "(integer PCM passed as float? divide it by its type's full scale)")


def has_signal(waveform: np.ndarray) -> bool:
    """False for digital silence: no sample moves a whole int16 step away from the clip's mean.

    Kaldi's fbank removes each frame's mean, so a constant or sub-LSB clip gives identical
    floor-level features everywhere, on which a model can only invent text. Upstream never
    sees such features because it dithers (adds noise of one int16 step); we do not dither,
    so pipelines return empty text for these clips instead.
    """
    return waveform.size > 0 and float(np.abs(waveform - waveform.mean()).max()) >= SILENCE_PEAK


def _mix_down(data: np.ndarray) -> np.ndarray:
    """The channel average, or the loudest channel where averaging cancels the signal.

    Averaging N channels keeps at least 1/N of their mean power unless they are negatively
    correlated (1/N exactly for unrelated channels, or speech in one channel of N). A stereo
    file wired in opposite phase averaged to silence and transcribed as nothing; when the
    average keeps under a tenth of that floor, the loudest channel is used instead.
    """
    mix = data.mean(axis=1)
    power = np.mean(np.square(data, dtype=np.float64), axis=0)
    if np.mean(np.square(mix, dtype=np.float64)) * data.shape[1] * 10 < power.mean():
        return data[:, int(np.argmax(power))]
    return mix


def _check_rate(rate, name: str) -> int:
    ok = isinstance(rate, (int, float, np.integer, np.floating)) and not isinstance(rate, (bool, np.bool_))
    if ok and math.isfinite(rate) and rate == int(rate) and MIN_RATE <= rate <= MAX_RATE:
        return int(rate)
    raise AudioError(f"{name}: sample rate {rate!r} is not supported (a whole number of Hz from "
                     f"{MIN_RATE} to {MAX_RATE})")


def _as_float(source) -> np.ndarray:
    try:
        data = np.asarray(source)
    except ValueError:  # ragged nested lists
        raise AudioError("audio array is ragged (rows of different lengths)") from None
    if data.dtype.kind == "u":  # offset binary: the type's midpoint is silence
        half = np.iinfo(data.dtype).max // 2 + 1
        return ((data.astype(np.float64) - half) / half).astype(np.float32)
    if data.dtype.kind == "i":
        info = np.iinfo(data.dtype)
        return (data.astype(np.float64) / (info.max + 1)).astype(np.float32)
    if data.dtype.kind == "f":
        return data.astype(np.float32)
    raise AudioError(f"audio array has unsupported dtype {data.dtype}")


def _read_file(path: Path) -> tuple[np.ndarray, int]:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if not path.is_file():  # a FIFO or device would block or never end
        raise AudioError(f"{path}: not a regular file")
    try:
        with sf.SoundFile(str(path)) as f:
            _check_decoded_size(f, path)
            data = f.read(dtype="float32", always_2d=True)
            short = _shortfall(f, len(data))
            rate = f.samplerate
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = str(exc).split(":")[-1].strip() or "unreadable"
        if detail.startswith("File does not exist"):  # libsndfile's words for data no decoder took
            detail = "unrecognised or corrupt data"
        raise AudioError(f"{path}: not a readable audio file ({detail})") from None
    if short:
        raise AudioError(f"{path}: truncated: holds {short} its header declares (an incomplete download or copy?)")
    return data, rate


def _check_decoded_size(f: sf.SoundFile, path: Path) -> None:
    size = f.frames * f.channels * 4
    if size > MAX_DECODED_BYTES:
        raise AudioError(f"{path}: {f.frames / max(f.samplerate, 1) / 3600:.1f} h of {f.channels}-channel audio "
                         f"would take {size / 2**30:.1f} GiB to decode (at most {MAX_DECODED_BYTES / 2**30:.0f}); "
                         "split it first (sox or ffmpeg)")


# libsndfile's header log for a RIFF-family file whose data chunk runs past the end of the file.
_DATA_CHUNK = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _shortfall(f: sf.SoundFile, frames_read: int) -> str | None:
    """What a truncated file lacks, where libsndfile can tell; None if complete (or unknowable:
    a cut Ogg file just ends). Decoders read the part that is there without complaint."""
    if frames_read < 0.99 * f.frames:  # MP3's frame count is an encoder's estimate: allow 1 %
        return f"{frames_read} of the {f.frames} frames"
    chunk = _DATA_CHUNK.search(f.extra_info)
    # Streaming writers put a 'length unknown' placeholder (0xFFFFFFFF) in the header: not a cut.
    if chunk and int(chunk[2]) < int(chunk[1]) < 0xFFFFFF00:
        return f"{chunk[2]} of the {chunk[1]} bytes of audio"
    return None
