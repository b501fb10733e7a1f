"""The command line on a converted full pipeline: text, timestamps, timings, JSON, captures."""

import json

import numpy as np
import pytest
import soundfile as sf

from workbench.cli import main
from workbench.reference.signals import speech_like


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, speech_like(3.0, 3), 16000)
    return path


def test_transcribe_prints_text_timestamps_and_timings(paraformer_dirs, clip, capsys):
    assert main(["transcribe", str(clip), "--model", str(paraformer_dirs("tiny")[1])]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{clip}: ")
    assert "logp=" in out and "encoder" in out and "decoder" in out and "ms" in out


def test_transcribe_json_lists_captures_by_name_and_shape(paraformer_dirs, clip, capsys, tmp_path):
    model = str(paraformer_dirs("tiny")[1])
    args = ["transcribe", str(clip), "--model", model, "--json", "--capture", "predictor.*", "encoder.layers.*.attn",
            "--save-captures", str(tmp_path / "caps")]
    assert main(args) == 0
    (result,) = json.loads(capsys.readouterr().out)
    captures = result["captures"]
    T = captures["predictor.alphas"]["shape"][0]
    assert captures["encoder.layers.2.attn"]["shape"] == [4, T, T]
    assert captures["predictor.fires"]["shape"] == [len(result["tokens"])]
    assert all(t["start"] <= t["end"] for t in result["tokens"])
    assert set(result["timings"]) >= {"frontend", "encoder", "predictor", "decoder", "total"}
    saved = np.load(tmp_path / "caps" / "clip.npz")
    assert saved["predictor.alphas"].shape == (T,)


def test_unknown_capture_name_is_one_error_line(paraformer_dirs, clip, capsys):
    assert main(["transcribe", str(clip), "--model", str(paraformer_dirs("tiny")[1]), "--capture", "encoder.nope"]) == 2
    err = capsys.readouterr().err
    assert "matches nothing this model produces" in err and "encoder.layers.{i}.attn" in err and err.count("\n") == 1


@pytest.mark.parametrize("content, message", [(b"not audio" * 50, "not a readable audio file"), (None, "no such file")])
def test_bad_audio_is_one_error_line(paraformer_dirs, tmp_path, capsys, content, message):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    assert main(["transcribe", str(path), "--model", str(paraformer_dirs("tiny")[1])]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_too_short_audio_is_one_error_line(paraformer_dirs, tmp_path, capsys):
    sf.write(tmp_path / "short.wav", np.zeros(200, np.float32), 16000)
    assert main(["transcribe", str(tmp_path / "short.wav"), "--model", str(paraformer_dirs("tiny")[1])]) == 2
    assert "at least 25 ms" in capsys.readouterr().err


def test_info_describes_the_model(paraformer_dirs, capsys):
    assert main(["info", str(paraformer_dirs("tiny")[1])]) == 0
    out = capsys.readouterr().out
    assert "336,013 parameters" in out and "predictor.alphas" in out and "CPU BLAS" in out


def test_nano_transcribe_json_has_step_records(nano_dirs, clip, capsys):
    model = str(nano_dirs("tiny")[1])
    args = ["transcribe", str(clip), "--model", model, "--json", "--strategy", "sample", "--temperature", "0.7",
            "--top-k", "20", "--top-p", "0.9", "--repetition-penalty", "1.1", "--seed", "4", "--max-new-tokens", "6"]
    assert main(args) == 0
    (first,) = json.loads(capsys.readouterr().out)
    steps = first["extra"]["steps"]
    assert len(steps) == 6 and first["extra"]["finish_reason"] == "max_new_tokens"
    assert {"token", "logprob", "sampling_logprob", "entropy", "top"} <= set(steps[0])
    assert main(args) == 0  # same seed, same tokens
    (second,) = json.loads(capsys.readouterr().out)
    assert [s["token"] for s in second["extra"]["steps"]] == [s["token"] for s in steps]


def test_nano_beam_and_truncation_warning(nano_dirs, clip, capsys):
    model = str(nano_dirs("tiny")[1])
    assert main(["transcribe", str(clip), "--model", model, "--strategy", "beam", "--beams", "3",
                 "--max-new-tokens", "4"]) == 0
    assert "output truncated at --max-new-tokens" in capsys.readouterr().out


def test_decoding_flags_are_refused_for_paraformer(paraformer_dirs, clip, capsys):
    assert main(["transcribe", str(clip), "--model", str(paraformer_dirs("tiny")[1]), "--strategy", "beam"]) == 2
    assert "applies to Fun-ASR-Nano models only" in capsys.readouterr().err


def test_count_search_is_paraformer_only_and_bounded(paraformer_dirs, nano_dirs, clip, capsys):
    assert main(["transcribe", str(clip), "--model", str(nano_dirs("tiny")[1]), "--count-search", "1"]) == 2
    assert "--count-search applies to Paraformer models only" in capsys.readouterr().err
    assert main(["transcribe", str(clip), "--model", str(paraformer_dirs("tiny")[1]), "--count-search", "4"]) == 2
    assert "--count-search must be from 0 to 3, got 4" in capsys.readouterr().err
