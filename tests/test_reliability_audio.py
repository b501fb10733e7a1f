"""Any audio: every container, sample format, rate and channel layout libsndfile writes gives the
transcript of the original clip, and edge signals give a defined result (empty text, a measured
error bound, or one clear AudioError), never a crash or a NaN.

Files are written with soundfile from zh_2.flac (16 kHz, which paraformer-demo transcribes
exactly) and read back through the pipeline. Bounds are the demo's, measured on this clip;
docs/reliability.md lists every case with its result.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

import workbench
from workbench.errors import AudioError
from workbench.evaluate import error_rate

CLIP = Path(__file__).parent.parent / "sample_audio" / "zh_2.flac"
LOSSLESS = [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "PCM_32"), ("WAV", "FLOAT"), ("WAV", "DOUBLE"),
            ("FLAC", "PCM_16"), ("FLAC", "PCM_24")]
LOSSY = [("WAV", "PCM_U8"), ("WAV", "ULAW"), ("OGG", "VORBIS"), ("OGG", "OPUS"), ("MP3", "MPEG_LAYER_III")]
RATES = [8000, 16000, 22050, 44100, 48000]
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)  # all that libsndfile's Opus encoder writes
# Measured on zh_2.flac (14 characters) with the fifteenth paraformer-demo: lossy codecs at 16 kHz
# and above cost nothing, and 15 % is allowed. At 8 kHz the lossless formats cost nothing and the
# lossy ones 2 or 3 characters (the fourteenth run: 0 to 3 and up to 4): the demo was trained on
# full-band speech and nothing above 4 kHz survives, so up to half may be wrong. (Until the
# fourteenth run these tests used zh_1.flac, whose first character that run writes as 李 or 黎
# depending on the file's rate: a round trip through another rate is not bit-exact, and a
# decision that close to even flips.)
LOSSY_CER, NARROWBAND_CER = 0.15, 0.5


@pytest.fixture(scope="module")
def demo():
    return workbench.load("paraformer-demo")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    data, rate = sf.read(CLIP, dtype="float32")
    assert rate == 16000
    return data


@pytest.fixture(scope="module")
def original(demo) -> str:
    return demo.transcribe(CLIP).text


def transcribe(demo, path) -> str:
    """The text, after checking that nothing in the pass went NaN."""
    result = demo.transcribe(path, capture=["predictor.alphas"])
    assert np.isfinite(result.captures["predictor.alphas"]).all()
    assert all(math.isfinite(t.logprob) for t in result.tokens)
    return result.text


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("fmt, subtype", LOSSLESS + LOSSY)
def test_format_matrix(tmp_path, demo, clip, original, fmt, subtype, rate):
    if fmt not in sf.available_formats():
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} cannot write {fmt}")
    if subtype == "OPUS" and rate not in OPUS_RATES:
        pytest.skip(f"libsndfile's Opus encoder writes only {OPUS_RATES} Hz")
    path = tmp_path / f"clip.{fmt.lower()}"
    audio = soxr.resample(clip, 16000, rate, quality="VHQ") if rate != 16000 else clip
    sf.write(path, audio, rate, format=fmt, subtype=subtype)
    text = transcribe(demo, path)
    if rate < 16000:
        assert error_rate(original, text, "zh") <= NARROWBAND_CER, text
    elif (fmt, subtype) in LOSSY:
        assert error_rate(original, text, "zh") <= LOSSY_CER, text
    else:
        assert text == original


LAYOUTS = {  # channels as columns, from the clip x and silence z
    "stereo, same signal": lambda x, z: [x, x],
    "stereo, speech on the left only": lambda x, z: [x, z],
    "stereo, opposite phase": lambda x, z: [x, -x],
    "quad, four gains": lambda x, z: [x, 0.5 * x, 0.25 * x, 0.1 * x],
    "5.1, speech in the centre only": lambda x, z: [z, z, x, z, z, z],
}


@pytest.mark.parametrize("rate", [16000, 48000])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_channel_layouts(tmp_path, demo, clip, original, layout, rate):
    audio = np.stack(LAYOUTS[layout](clip, np.zeros_like(clip)), axis=1)
    if rate != 16000:
        audio = soxr.resample(audio, 16000, rate, quality="VHQ")
    sf.write(tmp_path / "clip.wav", audio, rate, subtype="PCM_16")
    assert transcribe(demo, tmp_path / "clip.wav") == original


SAME, EMPTY, ANY = "same text", "empty text", "any text"
# name → (signal from the clip x, expected). ANY: a model-dependent transcript (the demo invents
# text for noise and for a single window), asserted only to be finite.
SIGNALS = {
    "digital silence, 1 s": (lambda x: np.zeros(16000), EMPTY),
    "digital silence, 10 s": (lambda x: np.zeros(160000), EMPTY),
    "DC only": (lambda x: np.full(16000, 0.5), EMPTY),
    "DC offset +0.4 under speech": (lambda x: x + 0.4, SAME),
    "DC offset -0.45 under speech": (lambda x: x - 0.45, SAME),
    "speech at -60 dB (x 1e-3)": (lambda x: x * 1e-3, SAME),
    "speech below one int16 step (x 3e-5)": (lambda x: x * 3e-5, EMPTY),
    # measured: the unclipped transcript with the fourteenth and the fifteenth paraformer-demo on
    # zh_2 (zh_1 with the thirteenth: 6 of 14 different, the twelfth, eleventh and ninth: 1, the
    # sixth: 7); the training augmentation has no clipping, so this moves from run to run
    "clipped, 18 dB over full scale": (lambda x: np.clip(x * 8, -1, 1), 0.5),
    "hard clipped, 40 dB over": (lambda x: np.clip(x * 100, -1, 1), ANY),
    "peaks at 2.0 (float, unclipped)": (lambda x: x * 4, SAME),
    "noise of one int16 step": (lambda x: np.random.default_rng(0).normal(0, 1 / 32768, 32000), ANY),
    "white noise at -10 dB": (lambda x: np.random.default_rng(0).normal(0, 0.3, 32000), ANY),
    "25 ms: one analysis window": (lambda x: x[16000:16400], ANY),
    "10 ms": (lambda x: x[16000:16160], "audio is 10.0 ms long; at least 25 ms (one analysis window) is needed"),
    "a NaN sample": (lambda x: np.where(np.arange(len(x)) == 100, np.nan, x),
                     "{path}: contains NaN or infinite samples"),
    "an infinite sample": (lambda x: np.where(np.arange(len(x)) == 100, np.inf, x),
                           "{path}: contains NaN or infinite samples"),
    "no samples": (lambda x: np.zeros(0), "{path}: contains no samples"),
}


@pytest.mark.parametrize("name", SIGNALS)
def test_edge_signals(tmp_path, demo, clip, original, name):
    make, expected = SIGNALS[name]
    path = tmp_path / "signal.wav"
    sf.write(path, make(clip).astype(np.float32), 16000, subtype="FLOAT")  # float WAV keeps every value
    if isinstance(expected, str) and expected not in (SAME, EMPTY, ANY):
        with pytest.raises(AudioError, match=f"^{re.escape(expected.format(path=path))}$"):
            demo.transcribe(path)
        return
    text = transcribe(demo, path)
    if expected == SAME:
        assert text == original
    elif expected == EMPTY:
        assert text == ""
    elif expected != ANY:
        assert error_rate(original, text, "zh") <= expected, text
