"""`workbench average`: the weights of two runs of one model, averaged, or a clear refusal and nothing written."""

import json
import re
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import workbench
from workbench.cli import main
from workbench.errors import CheckpointError
from workbench.loading import BUNDLED_DIR
from workbench.train.average import average_models

ROOT = Path(__file__).parent.parent


def run_dir(path: Path, scale: float, extra: dict | None = None, config: dict | None = None) -> Path:
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config or {"model_type": "toy"}))
    (path / "tokens.json").write_text('["a", "b"]')
    (path / "train_log.jsonl").write_text(json.dumps({"step": int(scale)}) + "\n")
    save_file({"w": np.full((2, 3), scale, np.float32), "b": np.arange(3, dtype=np.float32) * scale,
               **(extra or {})}, str(path / "model.safetensors"), metadata={"format": "mlx"})
    return path


def test_the_average_is_each_weight_between_the_two(tmp_path):
    a, b = run_dir(tmp_path / "a", 1.0), run_dir(tmp_path / "b", 3.0)
    assert average_models(a, b, tmp_path / "avg", weight=0.25) == []
    out = load_file(tmp_path / "avg" / "model.safetensors")
    np.testing.assert_allclose(out["w"], np.full((2, 3), 2.5))  # 0.25 × 1 + 0.75 × 3
    np.testing.assert_allclose(out["b"], np.arange(3) * 2.5)
    assert out["w"].dtype == np.float32
    with safe_open(tmp_path / "avg" / "model.safetensors", "np") as f:
        assert f.metadata() == {"format": "mlx"}
    log = (tmp_path / "avg" / "train_log.jsonl").read_text().splitlines()
    assert json.loads(log[0]) == {"step": 3} and json.loads(log[1])["averaged"]["weight_of_a"] == 0.25
    assert (tmp_path / "avg" / "tokens.json").read_text() == '["a", "b"]'


def test_a_weight_file_of_only_one_run_is_left_out_and_named(tmp_path, capsys):
    a, b = run_dir(tmp_path / "a", 1.0), run_dir(tmp_path / "b", 3.0)
    save_file({"head": np.ones(2, np.float32)}, str(b / "ctc_head.safetensors"))
    assert main(["average", str(a), str(b), "--out", str(tmp_path / "avg")]) == 0
    assert "ctc_head.safetensors is in only one of the two: left out" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "avg").iterdir()) == ["config.json", "model.safetensors", "tokens.json",
                                                                      "train_log.jsonl"]


@pytest.mark.parametrize("a_extra, b_change, message", [
    ({}, {"config": {"model_type": "other"}}, "config.json differs between"),
    ({}, {"extra": {"more": np.ones(2, np.float32)}}, "model.safetensors: 1 weights in only one of the two, e.g. more"),
    ({}, {"extra": {"b": np.ones(4, np.float32)}}, "model.safetensors: b is float32[3] in A, float32[4] in B"),
    ({"b": np.ones(3, np.uint32)}, {"extra": {"b": np.ones(3, np.uint32)}},
     "model.safetensors: b is uint32; only floating-point weights can be averaged"),
])
def test_two_different_models_are_refused_and_nothing_is_written(tmp_path, a_extra, b_change, message):
    a, b = run_dir(tmp_path / "a", 1.0, extra=a_extra), run_dir(tmp_path / "b", 3.0, **b_change)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        average_models(a, b, tmp_path / "avg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no output, no staging left behind


def test_bfloat16_weights_stay_bfloat16(tmp_path):
    a, b = run_dir(tmp_path / "a", 1.0), run_dir(tmp_path / "b", 3.0)
    for d, value in ((a, 1.0), (b, 2.0)):
        mx.save_safetensors(str(d / "model.safetensors"), {"w": mx.full((2,), value, dtype=mx.bfloat16)})
    average_models(a, b, tmp_path / "avg")
    out = mx.load(str(tmp_path / "avg" / "model.safetensors"))["w"]
    assert out.dtype == mx.bfloat16 and out.tolist() == [1.5, 1.5]


def test_a_corrupt_weight_file_is_refused_and_nothing_is_written(tmp_path):
    a, b = run_dir(tmp_path / "a", 1.0), run_dir(tmp_path / "b", 3.0)
    (b / "model.safetensors").write_bytes(b"not a safetensors file" * 8)
    with pytest.raises(CheckpointError, match="model.safetensors: not a readable safetensors file"):
        average_models(a, b, tmp_path / "avg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_bad_arguments_are_refused_before_anything_is_read(tmp_path, capsys):
    a, b = run_dir(tmp_path / "a", 1.0), run_dir(tmp_path / "b", 3.0)
    (tmp_path / "taken").mkdir()
    assert main(["average", str(a), str(b), "--out", str(tmp_path / "taken")]) == 2
    assert capsys.readouterr().err.strip().endswith("taken exists; averaging writes a new directory")
    assert main(["average", str(a), str(b), "--out", str(tmp_path / "avg"), "--weight", "1.5"]) == 2
    assert capsys.readouterr().err.strip() == "error: --weight is A's share of the average, 0 to 1, not 1.5"
    assert main(["average", str(a), str(tmp_path), "--out", str(tmp_path / "avg")]) == 2
    assert "not a model directory (no config.json)" in capsys.readouterr().err
    assert not (tmp_path / "avg").exists()


def test_a_demo_averaged_with_itself_loads_and_transcribes_as_before(tmp_path):
    demo = BUNDLED_DIR / "paraformer-demo"
    average_models(demo, demo, tmp_path / "same")
    clip = ROOT / "sample_audio" / "zh_2.flac"
    same = workbench.load(str(tmp_path / "same")).transcribe(clip).text
    assert same == workbench.load("paraformer-demo").transcribe(clip).text == "江春梅已经在东京住了二十年了"
