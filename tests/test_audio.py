"""Audio loading: formats, channels, resampling, and one clear error per bad input."""

import numpy as np
import pytest
import soundfile as sf

from workbench.audio import load_audio
from workbench.errors import AudioError


def tone(rate, seconds=1.0, freq=440.0):
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("fmt, subtype", [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "FLOAT"), ("FLAC", "PCM_16"),
                                          ("OGG", "VORBIS")])
def test_reads_formats(tmp_path, fmt, subtype):
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, tone(16000), 16000, format=fmt, subtype=subtype)
    x = load_audio(path)
    assert x.dtype == np.float32 and x.shape == (16000,)
    tol = 0.05 if subtype == "VORBIS" else 1e-3
    assert np.abs(x - tone(16000)).max() < tol


def test_stereo_is_averaged(tmp_path):
    left, right = tone(16000, freq=300), tone(16000, freq=500)
    sf.write(tmp_path / "s.wav", np.stack([left, right], 1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(tmp_path / "s.wav"), (left + right) / 2, atol=1e-6)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_is_band_limited_and_keeps_duration(rate):
    x = load_audio(tone(rate, 2.0, 1000.0), sample_rate=rate)
    assert abs(len(x) - 32000) <= 1
    ref = tone(16000, 2.0, 1000.0)
    mid = slice(1000, 31000)  # ignore the filter's edges
    assert np.abs(x[mid] - ref[mid]).max() < 1e-3


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_tones_above_the_new_nyquist_are_removed_not_aliased(rate):
    x = load_audio(tone(rate, 1.0, 9000.0), sample_rate=rate)
    assert np.abs(x[1000:-1000]).max() < 1e-3


def test_int16_array_and_gradio_tuple():
    pcm = (tone(16000) * 32767).astype(np.int16)
    np.testing.assert_allclose(load_audio((16000, pcm)), tone(16000), atol=1e-4)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.write_bytes(b"this is not audio at all" * 10), p)[1], "not a readable audio file"),
        (lambda p: (sf.write(p, np.zeros(0, np.float32), 16000), p)[1], "contains no samples"),
        (lambda p: p.parent, "is a directory"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path, make, message):
    with pytest.raises(AudioError, match=message):
        load_audio(make(tmp_path / "x.wav"))


def test_truncated_wav_is_refused_or_read_without_garbage(tmp_path):
    path = tmp_path / "t.wav"
    sf.write(path, tone(16000), 16000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[:30])  # header cut in half
    with pytest.raises(AudioError, match="not a readable audio file"):
        load_audio(path)


def test_non_finite_samples_are_refused():
    x = tone(16000)
    x[100] = np.nan
    with pytest.raises(AudioError, match="NaN or infinite"):
        load_audio(x, sample_rate=16000)


def test_array_without_rate_is_refused():
    with pytest.raises(AudioError, match="needs its sample_rate"):
        load_audio(tone(16000))
