"""The frontend's pitch extension: a pitch track that follows known voices, appended per frame."""

import numpy as np
import pytest

from workbench.frontend import FrontendConf, WavFrontend, apply_lfr, kaldi_fbank
from workbench.pitch import pitch_features

FS = 16000


def voice(f0_start: float, f0_end: float, seconds: float) -> np.ndarray:
    """A glottal-pulse-like voice gliding from f0_start to f0_end Hz: twelve harmonics, each falling
    off, as a vowel's low partials do."""
    f0 = np.geomspace(f0_start, f0_end, int(seconds * FS))
    phase = 2 * np.pi * np.cumsum(f0) / FS
    return 0.3 * sum(np.sin(k * phase) / k for k in range(1, 13)).astype(np.float32)


@pytest.mark.parametrize("low, high", [(80, 100), (200, 160)])  # a low male rise, a female fall
def test_pitch_track_follows_a_gliding_voice_against_its_register(low, high):
    x = np.concatenate([np.zeros(FS // 2, np.float32), voice(low, high, 1.0), np.zeros(FS // 2, np.float32)])
    features = pitch_features(x, FS, 400, 160)
    assert features.shape == (len(kaldi_fbank(x, FrontendConf())), 4)
    centres = (np.arange(len(features)) * 160 + 200) / FS
    inside = (centres > 0.55) & (centres < 1.45)
    silent = (centres < 0.45) | (centres > 1.55)
    voicing, relative, slope, level = features.T
    assert voicing[inside].min() > 0.9 and voicing[silent].max() == 0 and not features[silent, 1:].any()
    # Over the voice: log F0 minus its mean over the surrounding 1.5 s, which here is all of it.
    t = centres[inside] - 0.5
    truth = np.log(low) + (np.log(high) - np.log(low)) * t
    np.testing.assert_allclose(relative[inside], truth - truth.mean(), atol=0.03)
    np.testing.assert_allclose(level[inside], truth - np.log(150), atol=0.03)
    # A glide of log(high/low) over 100 frames: that much per frame, rising or falling.
    np.testing.assert_allclose(np.median(slope[inside]), np.log(high / low) / 100, atol=2e-3)


def test_pitch_frontend_appends_the_track_to_each_frame_before_lfr():
    x = voice(90, 120, 1.2)
    plain, pitched = FrontendConf(), FrontendConf(pitch=True)
    fbank, feats = WavFrontend(pitched)(x)
    assert pitched.frame_dim == 84 and feats.shape[1] == pitched.output_dim == 588
    frames = np.concatenate([kaldi_fbank(x, plain), pitch_features(x, FS, 400, 160)], axis=1)
    np.testing.assert_array_equal(feats, apply_lfr(frames, 7, 6))
    # The fbank the app shows stays the mel bins alone; the upstream frontend is untouched.
    np.testing.assert_array_equal(fbank, kaldi_fbank(x, plain))
    np.testing.assert_array_equal(WavFrontend(plain)(x)[1], apply_lfr(kaldi_fbank(x, plain), 7, 6))
    # pitch_gain (nano's, which has no CMVN) scales the pitch features and nothing else.
    gained = WavFrontend(FrontendConf(pitch=True, pitch_gain=16.0))(x)[1].reshape(len(feats), 7, 84)
    np.testing.assert_array_equal(gained[..., :80], feats.reshape(len(feats), 7, 84)[..., :80])
    np.testing.assert_allclose(gained[..., 80:], 16 * feats.reshape(len(feats), 7, 84)[..., 80:], rtol=1e-6)


@pytest.mark.parametrize("gain, message", [
    (0, "frontend_conf.pitch_gain = 0.0: it must be positive"),
    (-2, "frontend_conf.pitch_gain = -2.0: it must be positive"),
    (float("nan"), "frontend_conf.pitch_gain = nan is not a finite number")])
def test_a_config_with_a_pitch_gain_that_is_not_positive_is_refused_at_load(gain, message):
    from workbench.config import from_dict
    from workbench.errors import CheckpointError

    with pytest.raises(CheckpointError) as caught:
        from_dict(FrontendConf, {"pitch": True, "pitch_gain": gain}, "frontend_conf")
    assert str(caught.value) == message


@pytest.mark.parametrize("x", [np.zeros(400, np.float32), np.full(16000, 0.5, np.float32),
                               np.random.default_rng(0).standard_normal(560).astype(np.float32) * 0.1],
                         ids=["one-window-of-silence", "dc-offset", "noise"])
def test_pitch_features_of_silence_dc_and_noise_say_unvoiced(x):
    features = pitch_features(x, FS, 400, 160)
    assert features.shape == (1 + (len(x) - 400) // 160, 4) and np.isfinite(features).all()
    assert features[:, 0].max() < 0.5 and not features[:, 1:].any()
