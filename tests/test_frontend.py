"""Frontend against independent implementations: kaldi-native-fbank and upstream FunASR's own
LFR/CMVN functions."""

import kaldi_native_fbank as knf
import numpy as np
import pytest
import torch
from funasr.frontends import wav_frontend as upstream

from workbench.errors import AudioError, CheckpointError
from workbench.frontend import CMVN, FrontendConf, WavFrontend, apply_lfr, kaldi_fbank


def knf_fbank(waveform: np.ndarray) -> np.ndarray:
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "hamming"
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.frame_length_ms = 25
    opts.frame_opts.frame_shift_ms = 10
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = 80
    opts.energy_floor = 0.0
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(16000, (waveform * 32768).tolist())
    fb.input_finished()
    return np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)])


@pytest.mark.parametrize("seconds", [0.025, 0.1, 1.0, 7.3])
def test_fbank_matches_kaldi_native_fbank(seconds):
    rng = np.random.default_rng(int(seconds * 1000))
    n = int(16000 * seconds)
    t = np.arange(n) / 16000
    wave = 0.3 * np.sin(2 * np.pi * (200 + 800 * t) * t) + 0.05 * rng.standard_normal(n)
    ours = kaldi_fbank(wave.astype(np.float32), FrontendConf())
    ref = knf_fbank(wave.astype(np.float32))
    assert ours.shape == ref.shape == (1 + (n - 400) // 160, 80)
    assert np.abs(ours - ref).max() <= 1e-3


def test_fbank_handles_digital_silence_with_the_kaldi_floor():
    ours = kaldi_fbank(np.zeros(1600, np.float32), FrontendConf())
    assert np.allclose(ours, np.log(np.finfo(np.float32).eps))


def test_fbank_refuses_audio_shorter_than_one_window():
    with pytest.raises(AudioError, match=r"audio is 24\.9 ms long; at least 25 ms"):
        kaldi_fbank(np.zeros(399, np.float32), FrontendConf())


@pytest.mark.parametrize("frames", list(range(1, 21)) + [599, 600, 601])
def test_lfr_matches_upstream(frames):
    feats = np.random.default_rng(frames).standard_normal((frames, 80)).astype(np.float32)
    ref = upstream.apply_lfr(torch.from_numpy(feats), 7, 6).numpy()
    ours = apply_lfr(feats, 7, 6)
    assert ours.shape == (-(-frames // 6), 560)
    np.testing.assert_array_equal(ours, ref)


def write_mvn(path, shift, scale):
    d = len(shift)
    fmt = lambda v: " ".join(str(x) for x in v)  # noqa: E731
    path.write_text(
        f"<Nnet>\n<Splice> {d} {d}\n[ 0 ]\n<AddShift> {d} {d}\n<LearnRateCoef> 0 [ {fmt(shift)} ]\n"
        f"<Rescale> {d} {d}\n<LearnRateCoef> 0 [ {fmt(scale)} ]\n</Nnet>\n"
    )


def test_cmvn_parses_shift_after_splice_and_matches_upstream(tmp_path):
    rng = np.random.default_rng(0)
    shift = -rng.uniform(8, 15, 560).astype(np.float32)
    scale = rng.uniform(0.14, 0.16, 560).astype(np.float32)
    write_mvn(tmp_path / "am.mvn", shift, scale)
    cmvn = CMVN.from_file(tmp_path / "am.mvn")
    np.testing.assert_array_equal(cmvn.shift, shift)  # not Splice's "[ 0 ]"
    feats = rng.standard_normal((9, 560)).astype(np.float32) * 3 + 10
    ref = upstream.apply_cmvn(torch.from_numpy(feats.copy()), upstream.load_cmvn(str(tmp_path / "am.mvn"))).numpy()
    np.testing.assert_allclose(cmvn(feats), ref, rtol=0, atol=1e-6)


def test_cmvn_errors_name_the_problem(tmp_path):
    with pytest.raises(CheckpointError, match="am.mvn is missing"):
        CMVN.from_file(tmp_path / "am.mvn")
    (tmp_path / "am.mvn").write_text("<Nnet>\n<Splice> 560 560\n[ 0 ]\n</Nnet>\n")
    with pytest.raises(CheckpointError, match="no <AddShift> vector found"):
        CMVN.from_file(tmp_path / "am.mvn")
    write_mvn(tmp_path / "am.mvn", [1.0] * 80, [1.0] * 80)
    with pytest.raises(CheckpointError, match="am.mvn is 80-dimensional but features are 560"):
        CMVN.from_file(tmp_path / "am.mvn")(np.zeros((2, 560), np.float32))
    # A frontend refuses it when the model loads, naming the file, before any clip is heard.
    with pytest.raises(CheckpointError) as refused:
        WavFrontend(FrontendConf(), CMVN.from_file(tmp_path / "am.mvn"))
    assert str(refused.value) == f"{tmp_path / 'am.mvn'} is 80-dimensional but the frontend gives 560 features"
