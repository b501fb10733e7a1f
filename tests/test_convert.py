"""Converter and loader strictness: hostile, broken and mismatched checkpoints fail with one clear
error naming the problem, and never leave a partial output directory."""

import json
import os
import pickle
import re
import shutil

import mlx.core as mx
import pytest
import torch
from test_torch_checkpoint import _Pwn, _torch_like_zip

import workbench
from workbench.cli import main
from workbench.convert.paraformer import convert_paraformer
from workbench.errors import CheckpointError


@pytest.fixture
def upstream(tmp_path, paraformer_dirs):
    """A private copy of the tiny upstream directory that a test may damage."""
    return shutil.copytree(paraformer_dirs("tiny")[0], tmp_path / "upstream")


def edit_state(src, edit):
    state = torch.load(src / "model.pt", weights_only=True)
    edit(state)
    torch.save(state, src / "model.pt")


def assert_nothing_written(tmp_path, dst):
    assert not dst.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{dst.name}")], "temporary files left behind"


def test_converted_directory_layout(paraformer_dirs):
    src, dst = paraformer_dirs("tiny")
    assert sorted(p.name for p in dst.iterdir()) == ["am.mvn", "config.json", "model.safetensors", "tokens.json"]
    config = json.loads((dst / "config.json").read_text())
    assert config["model_type"] == "paraformer" and config["frontend_conf"]["dither"] == 0.0
    weights = mx.load(str(dst / "model.safetensors"))
    upstream = torch.load(src / "model.pt", weights_only=True)
    assert weights.keys() == upstream.keys()
    # Convolutions are stored in MLX layout [out, k, in/groups].
    fsmn = "encoder.encoders.0.self_attn.fsmn_block.weight"
    assert weights[fsmn].shape == (upstream[fsmn].shape[0], upstream[fsmn].shape[2], 1)


def test_seaco_extra_modules_are_reported_and_skipped(tmp_path, paraformer_dirs):
    src, _ = paraformer_dirs("tiny", seaco=True)
    skipped = convert_paraformer(src, tmp_path / "out")
    prefixes = {k.split(".")[0] for k in skipped}
    assert {"bias_encoder", "seaco_decoder", "hotword_output_layer"} <= prefixes
    assert any(k.startswith("predictor.blstm.") for k in skipped)


def test_pickle_that_would_run_code_is_refused(tmp_path, upstream):
    marker = tmp_path / "pwned"
    _torch_like_zip(upstream / "model.pt", pickle.dumps({"w": _Pwn(f"touch {marker}")}, protocol=2))
    with pytest.raises(CheckpointError, match=r"refusing to load pickled global '(posix|os)\.system'"):
        convert_paraformer(upstream, tmp_path / "out")
    assert not marker.exists()
    assert_nothing_written(tmp_path, tmp_path / "out")


def test_wrong_shape_names_the_key(tmp_path, upstream):
    edit_state(upstream, lambda s: s.__setitem__("predictor.cif_output.weight", torch.zeros(2, 64)))
    with pytest.raises(CheckpointError, match=r"predictor\.cif_output\.weight has shape \[2, 64\], expected \[1, 64\]"):
        convert_paraformer(upstream, tmp_path / "out")
    assert_nothing_written(tmp_path, tmp_path / "out")


def test_missing_and_unexpected_keys_are_named(tmp_path, upstream):
    edit_state(upstream, lambda s: s.pop("decoder.after_norm.bias"))
    with pytest.raises(CheckpointError, match=r"missing 1 weights: decoder\.after_norm\.bias"):
        convert_paraformer(upstream, tmp_path / "out")
    edit_state(upstream, lambda s: s.update({"decoder.after_norm.bias": torch.zeros(64),
                                             "ctc.ctc_lo.weight": torch.zeros(3, 64)}))
    with pytest.raises(CheckpointError, match=r"1 unexpected weights: ctc\.ctc_lo\.weight"):
        convert_paraformer(upstream, tmp_path / "out")


def test_missing_side_files(tmp_path, upstream):
    (upstream / "am.mvn").unlink()
    with pytest.raises(CheckpointError, match="am.mvn is missing"):
        convert_paraformer(upstream, tmp_path / "out")
    (upstream / "config.yaml").unlink()
    with pytest.raises(CheckpointError, match="config.yaml is missing"):
        convert_paraformer(upstream, tmp_path / "out")


def test_absurd_config_is_refused_before_building(tmp_path, upstream):
    text = (upstream / "config.yaml").read_text().replace("num_blocks: 3", "num_blocks: 100000000", 1)
    (upstream / "config.yaml").write_text(text)
    with pytest.raises(CheckpointError, match="encoder_conf.num_blocks = 100000000 is out of range"):
        convert_paraformer(upstream, tmp_path / "out")


def test_output_is_atomic(tmp_path, upstream, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(mx, "save_safetensors", fail)
    with pytest.raises(OSError, match="disk full"):
        convert_paraformer(upstream, tmp_path / "out")
    assert_nothing_written(tmp_path, tmp_path / "out")


def test_existing_output_needs_overwrite(tmp_path, upstream):
    convert_paraformer(upstream, tmp_path / "out")
    with pytest.raises(CheckpointError, match="already exists"):
        convert_paraformer(upstream, tmp_path / "out")
    convert_paraformer(upstream, tmp_path / "out", overwrite=True)
    assert workbench.load(tmp_path / "out").config.vocab_size == 300


def test_loader_rejects_damaged_model_directories(tmp_path, paraformer_dirs):
    dst = shutil.copytree(paraformer_dirs("tiny")[1], tmp_path / "m")
    weights = mx.load(str(dst / "model.safetensors"))
    weights["encoder.after_norm.weight"] = mx.zeros((5,))
    mx.save_safetensors(str(dst / "model.safetensors"), weights)
    with pytest.raises(CheckpointError, match=r"encoder\.after_norm\.weight has shape \[5\], expected \[64\]"):
        workbench.load(dst)
    (dst / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        workbench.load(dst)
    (dst / "am.mvn").unlink()
    with pytest.raises(CheckpointError):
        workbench.load(dst)
    with pytest.raises(CheckpointError, match="no such model directory"):
        workbench.load(tmp_path / "nope")


@pytest.mark.parametrize("damage, message", [
    ("pickle", "refusing to load pickled global"),
    ("shape", "shape mismatch"),
    ("mvn", "am.mvn is missing"),
])
def test_cli_prints_one_error_line(tmp_path, upstream, capsys, damage, message):
    if damage == "pickle":
        _torch_like_zip(upstream / "model.pt", pickle.dumps(_Pwn("true"), protocol=2))
    elif damage == "shape":
        edit_state(upstream, lambda s: s.__setitem__("predictor.cif_output.bias", torch.zeros(3)))
    else:
        (upstream / "am.mvn").unlink()
    assert main(["convert", "paraformer", str(upstream), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_nano_ctc_keys_are_reported_and_bf16_checkpoints_convert(tmp_path):
    from workbench.convert.nano import convert_nano
    from workbench.reference.nano_upstream import make_nano_dir

    fp32 = make_nano_dir(tmp_path / "fp32", size="tiny", seed=1, with_ctc=True)
    bf16 = make_nano_dir(tmp_path / "bf16", size="tiny", seed=1, with_ctc=True, dtype=torch.bfloat16)
    skipped = convert_nano(fp32, tmp_path / "a")
    assert {k.split(".")[0] for k in skipped} == {"ctc_decoder", "ctc", "llm"}  # llm.lm_head: tied copy
    convert_nano(bf16, tmp_path / "b")
    a, b = mx.load(str(tmp_path / "a" / "model.safetensors")), mx.load(str(tmp_path / "b" / "model.safetensors"))
    # The oracle's weights lie on the bf16 grid, so both files hold exactly the same fp32 values.
    assert a.keys() == b.keys() and all(mx.array_equal(a[k], b[k]).item() for k in a)
    assert (tmp_path / "a" / "tokenizer.json").is_file()


def test_nano_llm_runs_in_bf16_and_fp16(nano_dirs):
    import numpy as np

    from workbench.decoding import DecodingConfig
    from workbench.reference.signals import speech_like

    pipeline = workbench.load(nano_dirs("tiny")[1])
    wav = speech_like(2.0, 21)
    config = DecodingConfig(max_new_tokens=3)
    ref = pipeline.transcribe(wav, sample_rate=16000, decoding=config, capture=["llm.logits"]).captures["llm.logits"]
    for dtype in ("bf16", "fp16"):
        pipeline.set_llm_dtype(dtype)
        assert pipeline.model.llm.model.embed_tokens.weight.dtype == {"bf16": mx.bfloat16, "fp16": mx.float16}[dtype]
        out = pipeline.transcribe(wav, sample_rate=16000, decoding=config,
                                  capture=["llm.logits"]).captures["llm.logits"]
        assert np.abs(out[0] - ref[0]).max() / np.abs(ref[0]).max() < 5e-2
    pipeline.set_llm_dtype("fp32")


def test_links_out_of_the_upstream_directory_are_refused(tmp_path, upstream):
    outside = tmp_path / "tokens.json"
    shutil.move(upstream / "tokens.json", outside)
    (upstream / "tokens.json").symlink_to(outside)
    with pytest.raises(CheckpointError, match=rf"^{upstream}/tokens\.json: links to {outside}, outside the model "
                       r"directory; copy the file in \(cp -L\) if you trust it$"):
        convert_paraformer(upstream, tmp_path / "out")
    assert_nothing_written(tmp_path, tmp_path / "out")


@pytest.mark.parametrize("init, message", [
    ("..", "{src}/config.yaml: llm_conf.init_param_path = '..' names no file inside the model directory"),
    ("/train/box/../../etc/Qwen3", "{src}: LLM config Qwen3/config.json is missing"),  # the bare name, inside
])
def test_nano_llm_path_stays_inside_the_directory(tmp_path, init, message):
    from workbench.convert.nano import convert_nano

    src = tmp_path / "nano"
    src.mkdir()
    (src / "config.yaml").write_text(json.dumps({"model": "FunASRNano", "audio_encoder": "SenseVoiceEncoderSmall",
                                                 "audio_adaptor": "Transformer",
                                                 "llm_conf": {"init_param_path": init}}))
    with pytest.raises(CheckpointError, match=f"^{re.escape(message.format(src=src))}$"):
        convert_nano(src, tmp_path / "out")


@pytest.mark.parametrize("make, message", [
    (lambda d: d.write_text("my notes"), "{dst}: not a directory; --overwrite only replaces a model directory"),
    (lambda d: d.mkdir() or (d / "thesis.tex").write_text("years of work"),
     "{dst}: not a model directory (no config.json); refusing to replace it"),
    (lambda d: d.symlink_to(d.parent), "{dst}: not a directory; --overwrite only replaces a model directory"),
], ids=["a file", "a directory of something else", "a link"])
def test_overwrite_only_replaces_a_model_directory(tmp_path, upstream, make, message):
    dst = tmp_path / "out"
    make(dst)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(CheckpointError, match=f"^{re.escape(message.format(dst=dst))}$"):
        convert_paraformer(upstream, dst, overwrite=True)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_failed_swap_puts_the_old_model_back(tmp_path, upstream, monkeypatch):
    dst = tmp_path / "out"
    convert_paraformer(upstream, dst)
    marker = dst / "config.json"
    marker.write_text(marker.read_text())  # the old model, to recognise afterwards
    real_replace, calls = os.replace, []

    def replace(src, target):  # the second rename (new model into place) fails
        calls.append(src)
        if len(calls) == 2:
            raise OSError("disk vanished")
        real_replace(src, target)

    monkeypatch.setattr("workbench.convert.common.os.replace", replace)
    with pytest.raises(OSError, match="disk vanished"):
        convert_paraformer(upstream, dst, overwrite=True)
    assert workbench.load(dst).config.vocab_size == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "upstream"]


@pytest.mark.parametrize("flags, message", [
    (["--quantize", "llm=8bit"], "unknown component 'llm' for paraformer; choose from encoder, predictor, decoder"),
    (["--quantize", "encoder=3bit"], "unknown level '3bit'; choose from fp32, bf16, fp16, 8bit, 4bit"),
    (["--quantize", "8bit", "--group-size", "7"], "group size 7 is not supported; choose from 32, 64, 128"),
])
def test_cli_bad_quantize_spec_fails_before_writing(tmp_path, upstream, capsys, flags, message):
    assert main(["convert", "paraformer", str(upstream), str(tmp_path / "out"), *flags]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert_nothing_written(tmp_path, tmp_path / "out")


def test_cli_unwritable_output_is_one_error_line(tmp_path, upstream, capsys):
    (tmp_path / "file").write_text("")
    assert main(["convert", "paraformer", str(upstream), str(tmp_path / "file" / "out")]) == 2
    assert capsys.readouterr().err == f"error: [Errno 17] File exists: '{tmp_path / 'file'}'\n"  # mkdir's words


def test_nano_digital_silence_is_empty_without_decoding(nano_dirs):
    import numpy as np

    pipeline = workbench.load(nano_dirs("tiny")[1])
    result = pipeline.transcribe(np.zeros(16000, np.float32), sample_rate=16000, capture=["llm.logits"])
    assert (result.text, result.tokens, result.extra["finish_reason"]) == ("", [], "no_signal")
    assert result.captures["llm.logits"].shape == (0, pipeline.config.llm_conf.vocab_size)
