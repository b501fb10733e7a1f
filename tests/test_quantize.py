"""Per-component precision and quantization: applied at load, stored by convert, detected on load."""

import shutil

import mlx.nn as nn
import numpy as np
import pytest

import workbench
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.quantize import apply_levels, quantize_model_dir, weight_errors
from workbench.reference.signals import speech_like


def quantized_layers(model):
    return [p for p, m in model.named_modules() if isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding))]


def test_stored_quantization_is_detected_and_reproduces_outputs(paraformer_dirs, tmp_path):
    path = shutil.copytree(paraformer_dirs("tiny")[1], tmp_path / "q")
    in_memory = workbench.load(path)
    apply_levels(in_memory.model, "paraformer", {"encoder": "8bit", "decoder": "4bit"}, group_size=32)
    quantize_model_dir(path, "encoder=8bit,decoder=4bit", group_size=32)
    reloaded = workbench.load(path)
    assert quantized_layers(reloaded.model) == quantized_layers(in_memory.model) != []
    layer = dict(reloaded.model.named_modules())["encoder.encoders.0.self_attn.linear_q_k_v"]
    assert (layer.bits, layer.group_size) == (8, 32)
    wav = speech_like(3.0, 4)
    a = in_memory.transcribe(wav, sample_rate=16000, capture=["decoder.logits"])
    b = reloaded.transcribe(wav, sample_rate=16000, capture=["decoder.logits"])
    np.testing.assert_array_equal(a.captures["decoder.logits"], b.captures["decoder.logits"])


def test_weight_error_grows_as_bits_shrink(paraformer_dirs):
    reference = workbench.load(paraformer_dirs("tiny")[1])
    errors = {}
    for level in ("bf16", "8bit", "4bit"):
        pipeline = workbench.load(paraformer_dirs("tiny")[1])
        apply_levels(pipeline.model, "paraformer", {"encoder": level}, group_size=32)
        errors[level] = np.mean(list(weight_errors(reference.model, pipeline.model).values()))
    assert 0 < errors["bf16"] < errors["8bit"] < errors["4bit"] < 0.2


def test_nano_llm_quantization_runs(nano_dirs):
    pipeline = workbench.load(nano_dirs("tiny")[1])
    apply_levels(pipeline.model, "fun_asr_nano", {"llm": "4bit", "embeddings": "8bit"}, group_size=32)
    layers = quantized_layers(pipeline.model)
    assert any(p.startswith("llm.model.layers.") for p in layers)
    # The embedding table is one layer: it must be replaced too (it once was left as it was).
    assert "llm.model.embed_tokens" in layers
    assert not any(p.startswith(("audio_encoder.", "audio_adaptor.")) for p in layers)
    from workbench.decoding import DecodingConfig

    out = pipeline.transcribe(speech_like(2.0, 5), sample_rate=16000, decoding=DecodingConfig(max_new_tokens=3))
    assert len(out.extra["steps"]) == 3


def test_nano_with_8bit_embeddings_stays_close_to_fp32(nano_dirs):
    # The audio embeddings join the prompt in the embedding table's output dtype; they were once
    # cast to the quantized table's storage dtype (uint32), which turned the transcript into noise.
    from workbench.decoding import DecodingConfig

    wav, decoding = speech_like(2.0, 5), DecodingConfig(max_new_tokens=3)
    reference = workbench.load(nano_dirs("tiny")[1])
    quantized = workbench.load(nano_dirs("tiny")[1])
    apply_levels(quantized.model, "fun_asr_nano", {"embeddings": "8bit"}, group_size=32)
    a, b = (p.transcribe(wav, sample_rate=16000, decoding=decoding, capture=["llm.logits"]).captures["llm.logits"]
            for p in (reference, quantized))
    assert np.abs(np.asarray(a) - np.asarray(b)).max() < 0.05 * np.abs(np.asarray(a)).max()


def test_bad_specs_are_clear_errors(paraformer_dirs, capsys):
    pipeline = workbench.load(paraformer_dirs("tiny")[1])
    with pytest.raises(WorkbenchError, match="unknown component 'llm'"):
        apply_levels(pipeline.model, "paraformer", {"llm": "4bit"})
    with pytest.raises(WorkbenchError, match="unknown level '3bit'"):
        apply_levels(pipeline.model, "paraformer", {"encoder": "3bit"})


def test_compare_quant_cli_reports_every_level(paraformer_dirs, tmp_path, capsys):
    import json

    import soundfile as sf

    sf.write(tmp_path / "a.wav", speech_like(2.5, 6), 16000)
    assert main(["compare-quant", str(paraformer_dirs("tiny")[1]), str(tmp_path / "a.wav"),
                 "--levels", "fp32", "bf16", "8bit", "--group-size", "32"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["level"] for r in rows] == ["fp32", "bf16", "8bit"]
    assert rows[0]["token_agreement"] == 1.0 and rows[0]["logit_divergence_rel"] == 0.0
    assert rows[1]["size_MB"] < rows[0]["size_MB"] and rows[2]["size_MB"] < rows[0]["size_MB"]
