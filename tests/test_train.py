"""Training runs end to end on CPU: a few steps of each family, resume, export, reload, transcribe."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

import workbench
from workbench.errors import WorkbenchError
from workbench.reference.signals import speech_like
from workbench.train.loop import TrainConfig
from workbench.train.paraformer import cif_weights
from workbench.train.run import train_nano, train_paraformer


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    (root / "audio").mkdir()
    texts = ["我们今天开会", "hello world", "请发email给我", "good morning", "北京天气很好", "see you today"]
    rows = []
    for i, text in enumerate(texts):
        sf.write(root / "audio" / f"{i}.flac", speech_like(1.0 + 0.2 * i, i), 16000)
        rows.append({"id": str(i), "audio": f"audio/{i}.flac", "text": text,
                     "language": "en" if text.isascii() else "zh"})
    (root / "train.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    return root


def test_cif_weights_integrate_and_fire():
    import mlx.core as mx

    w = np.array(cif_weights(mx.array([[0.4, 0.8, 0.3, 0.5]]), 2))[0]
    np.testing.assert_allclose(w, [[0.4, 0.6, 0.0, 0.0], [0.0, 0.2, 0.3, 0.5]], atol=1e-6)


@pytest.mark.parametrize("family, trainer", [("paraformer", train_paraformer), ("nano", train_nano)])
def test_train_resume_export_and_transcribe(family, trainer, corpus, tmp_path):
    config = TrainConfig(steps=4, lr=1e-3, warmup=2, log_every=2, checkpoint_every=2)
    trainer(corpus, tmp_path, config, max_frames=400, workers=1)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [2, 4] and all(np.isfinite(row["loss"]) for row in log)
    # Each row says where its steps' time went (per step); the parts fit inside the wall time.
    parts = ("graph_ms", "wait_ms", "batch_ms")
    assert all(row["graph_ms"] > 0 and row["batch_ms"] > 0 and row["wait_ms"] >= 0 for row in log)
    assert sum(log[0][k] for k in parts) * 2 <= log[0]["minutes"] * 60_000
    # Resuming continues from the checkpoint instead of starting over.
    trainer(corpus, tmp_path, TrainConfig(steps=6, lr=1e-3, warmup=2, log_every=2, checkpoint_every=2),
            max_frames=400, workers=1)
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]
    model = workbench.load(tmp_path / "model")
    result = model.transcribe(speech_like(1.5, 99), sample_rate=16000)
    assert isinstance(result.text, str) and result.timings["total"] > 0


@pytest.mark.parametrize("frames, sharpness", [(30, 1.0), (300, 12.0)])
def test_ctc_loss_and_gradient_match_torch(frames, sharpness):
    import mlx.core as mx
    import torch

    from workbench.models.ctc import ctc_loss

    rng = np.random.default_rng(0)
    # The second case is long and confident: probabilities far below float32's range, and short
    # labels whose paths must not leak into the padding states over hundreds of frames.
    logits = (rng.normal(size=(4, frames, 7)) * sharpness).astype(np.float32)
    labels = rng.integers(1, 7, size=(4, 8)).astype(np.int32)
    labels[1, 2] = labels[1, 1]  # a repeated label needs a blank between the two
    in_lens = np.array([frames, frames - 5, 12, frames])
    label_lens = np.array([8, 5, 3, 0])  # incl. an empty transcript
    ours = lambda x: ctc_loss(x, mx.array(in_lens), mx.array(labels), mx.array(label_lens))  # noqa: E731
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    ref = torch.nn.functional.ctc_loss(x.log_softmax(-1).transpose(0, 1), torch.tensor(labels).long(),
                                       torch.tensor(in_lens), torch.tensor(label_lens), reduction="mean")
    ref.backward()
    np.testing.assert_allclose(ours(mx.array(logits)).item(), ref.item(), rtol=1e-5)
    np.testing.assert_allclose(np.array(mx.grad(ours)(mx.array(logits))), x.grad.numpy(), atol=1e-5)


@pytest.mark.parametrize("family, trainer", [("paraformer", train_paraformer), ("nano", train_nano)])
def test_ctc_head_trains_is_exported_beside_the_model_and_continues_with_init(family, trainer, corpus, tmp_path):
    import mlx.core as mx

    first = trainer(corpus, tmp_path / "a", TrainConfig(steps=2, warmup=1, log_every=1, ctc_weight=0.3),
                    max_frames=400, workers=1)
    log = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(row["ctc"]) and row["ctc"] > 0 for row in log)
    trained = {k: v for k, v in mx.load(str(tmp_path / "a" / "checkpoint" / "model.safetensors")).items()
               if k.startswith("ctc.")}
    assert set(trained) == {"ctc.ctc_lo.weight", "ctc.ctc_lo.bias"}
    # The model file stays inference-only; the head travels in its own file, in fp16.
    assert not any(k.startswith("ctc") for k in mx.load(str(first / "model.safetensors")))
    head = mx.load(str(first / "ctc_head.safetensors"))
    assert {k: v.dtype for k, v in head.items()} == {"ctc_lo.weight": mx.float16, "ctc_lo.bias": mx.float16}
    np.testing.assert_allclose(np.array(head["ctc_lo.weight"].astype(mx.float32)),
                               np.array(trained["ctc.ctc_lo.weight"]), atol=1e-3)
    # The side file does not stand in the loader's way.
    assert workbench.load(first).transcribe(speech_like(1.5, 99), sample_rate=16000).timings["total"] > 0
    # A continuation starts from that head: with a vanishing learning rate it exports it unchanged,
    # where a fresh head would be a new random draw.
    second = trainer(corpus, tmp_path / "b", TrainConfig(steps=1, warmup=1, lr=1e-12, ctc_weight=0.3),
                     max_frames=400, workers=1, init=first)
    continued = mx.load(str(second / "ctc_head.safetensors"))
    for k in head:
        np.testing.assert_array_equal(np.array(continued[k]), np.array(head[k]))
    # Without CTC there is no head to export.
    third = trainer(corpus, tmp_path / "c", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1, init=first)
    assert not (third / "ctc_head.safetensors").exists()


def _with_rows(root, extra: list[str], tmp_path):
    """A copy of the corpus manifest with sentences added (reusing the first clip's audio)."""
    rows = [json.loads(line) for line in (root / "train.jsonl").read_text().splitlines()]
    rows += [{**rows[0], "id": f"x{i}", "text": text} for i, text in enumerate(extra)]
    out = tmp_path / "corpus2"
    out.mkdir()
    (out / "audio").symlink_to(root / "audio")
    (out / "train.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    return out


@pytest.mark.parametrize("family, trainer, files", [
    ("paraformer", train_paraformer, ["tokens.json", "english_bpe.json", "am.mvn"]),
    ("nano", train_nano, ["tokenizer.json"]),
])
def test_init_continues_on_a_larger_corpus_with_the_earlier_vocabulary(family, trainer, files, corpus, tmp_path):
    first = trainer(corpus, tmp_path / "a", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1)
    # New sentences made of words the first corpus had: a vocabulary built from them would differ
    # (other counts, other merges), so continuing must keep the first run's; and the normalisation
    # its weights were trained on (this corpus's own frame statistics differ).
    larger = _with_rows(corpus, ["今天天气很好", "good world", "hello you today"], tmp_path)
    second = trainer(larger, tmp_path / "b", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1, init=first)
    for name in files:
        assert (second / name).read_bytes() == (first / name).read_bytes()


def test_init_refuses_text_the_earlier_vocabulary_cannot_spell(corpus, tmp_path):
    first = train_paraformer(corpus, tmp_path / "a", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1)
    larger = _with_rows(corpus, ["上海下雨了"], tmp_path)
    with pytest.raises(WorkbenchError, match="cannot spell 5 word"):
        train_paraformer(larger, tmp_path / "b", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1, init=first)
    assert not (tmp_path / "b").exists()  # refused before anything was written


def test_init_refuses_a_directory_of_the_other_family_in_one_line(corpus, tmp_path, capsys):
    from workbench.cli import main

    first = train_paraformer(corpus, tmp_path / "a", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1)
    assert main(["train", "nano", "--corpus", str(corpus), "--out", str(tmp_path / "b"), "--steps", "1",
                 "--max-frames", "400", "--workers", "1", "--init", str(first)]) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"{first}: not a nano model directory to continue from (no tokenizer.json)")
    assert not (tmp_path / "b").exists()


def test_quantity_weight_scales_the_cif_count_loss_from_the_command_line(corpus, tmp_path):
    import mlx.core as mx

    from workbench.cli import main
    from workbench.models.paraformer import Paraformer, ParaformerConfig
    from workbench.train import paraformer as objective

    model = Paraformer(ParaformerConfig.from_dict({
        "vocab_size": 12,
        "encoder_conf": {"output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 2},
        "decoder_conf": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1, "att_layer_num": 1},
        "predictor_conf": {"idim": 32}}))
    rng = np.random.default_rng(0)
    batch = {"feats": mx.array(rng.normal(size=(2, 30, 560)).astype(np.float32)), "feat_lens": mx.array([30, 22]),
             "targets": mx.array([[3, 4, 5, 6], [7, 8, -1, -1]]), "target_lens": mx.array([4, 2])}
    (plain, m), (heavy, _) = (objective.loss_fn(model, batch, sampling_ratio=0.0, quantity_weight=w)
                              for w in (0.0, 3.0))
    assert m["quantity"].item() > 0
    np.testing.assert_allclose(heavy.item() - plain.item(), 3.0 * m["quantity"].item(), rtol=1e-4)
    # The word-start loss adds in the same way, when the batch has word starts.
    timed = {**batch, "word_frames": mx.array([[3, 10], [0, 5]]), "words_before": mx.array([[0.0, 2.0], [0.0, -1.0]])}
    (off, _), (on, m) = (objective.loss_fn(model, timed, sampling_ratio=0.0, align_weight=w) for w in (0.0, 2.0))
    assert m["word_start"].item() > 0
    np.testing.assert_allclose(on.item() - off.item(), 2.0 * m["word_start"].item(), rtol=1e-4)
    assert main(["train", "paraformer", "--corpus", str(corpus), "--out", str(tmp_path), "--steps", "1",
                 "--warmup", "1", "--max-frames", "400", "--workers", "1", "--quantity-weight", "2.5"]) in (0, None)
    assert json.loads((tmp_path / "train_config.json").read_text())["quantity_weight"] == 2.5


def test_english_pieces_gives_a_new_vocabulary_and_carries_the_weights_over_token_by_token(corpus, tmp_path):
    import mlx.core as mx

    from workbench.train.run import VOCAB_ROWS
    from workbench.train.vocab import ParaformerVocab

    first = train_paraformer(corpus, tmp_path / "a", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1,
                             english_pieces=8)
    second = train_paraformer(corpus, tmp_path / "b", TrainConfig(steps=0, warmup=1), max_frames=400, workers=1,
                              init=first, english_pieces=200)
    old, new = ParaformerVocab.load(first), ParaformerVocab.load(second)
    # 8 pieces spell English letter by letter; 200 hold every word of this corpus whole.
    assert "hello" not in old.index and len(old.encode("hello")) == 5
    assert new.encode("hello world") == [new.index["hello"], new.index["world"]]
    a, b = mx.load(str(first / "model.safetensors")), mx.load(str(second / "model.safetensors"))
    assert set(a) == set(b)
    for name in set(a) - set(VOCAB_ROWS):  # no step was taken: everything else is the first run's
        assert mx.array_equal(a[name], b[name]), name
    for name in VOCAB_ROWS:
        for token in ["我", "天", "<s>", "</s>"]:
            assert mx.array_equal(b[name][new.index[token]], a[name][old.index[token]]), (name, token)
        pieces = old.encode("hello")
        mean = a[name][mx.array(pieces)].astype(mx.float32).mean(0).astype(mx.float16)
        assert mx.allclose(b[name][new.index["hello"]], mean, atol=1e-3), name


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_english_units_syllables_moves_the_ctc_head_onto_the_new_vocabulary_too(corpus, tmp_path):
    import mlx.core as mx

    from workbench.train.vocab import ParaformerVocab

    config = TrainConfig(steps=1, warmup=1, ctc_weight=0.3)
    first = train_paraformer(corpus, tmp_path / "a", config, max_frames=400, workers=1)
    second = train_paraformer(corpus, tmp_path / "b", TrainConfig(steps=0, warmup=1, ctc_weight=0.3), max_frames=400,
                              workers=1, init=first, english_units="syllables")
    assert (second / "english_syllables.json").is_file() and not (second / "english_bpe.json").exists()
    old, new = ParaformerVocab.load(first), ParaformerVocab.load(second)
    assert [new.tokens[i] for i in new.encode("hello today")] == ["hel@@", "lo", "to@@", "day"]
    a, b = mx.load(str(first / "ctc_head.safetensors")), mx.load(str(second / "ctc_head.safetensors"))
    assert b["ctc_lo.weight"].shape[0] == len(new.tokens) != a["ctc_lo.weight"].shape[0]
    for name in ("ctc_lo.weight", "ctc_lo.bias"):
        for token in ["<blank>", "我", "天"]:
            assert mx.array_equal(b[name][new.index[token]], a[name][old.index[token]]), (name, token)


@pytest.mark.parametrize("flag, value", [("--english-pieces", "100"), ("--english-units", "syllables")])
def test_english_vocabulary_flags_are_refused_for_nano_in_one_line(flag, value, corpus, tmp_path, capsys):
    from workbench.cli import main

    assert main(["train", "nano", "--corpus", str(corpus), "--out", str(tmp_path / "b"), "--steps", "1",
                 flag, value]) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"{flag} is for paraformer (nano's byte-level tokenizer spells any text)")
    assert not (tmp_path / "b").exists()


def test_word_start_targets_and_loss():
    import mlx.core as mx

    from workbench.train.data import Example
    from workbench.train.paraformer import word_start_loss, word_start_targets

    pieces = {"hello": [1, 2], "world": [3], "again": [4, 5]}
    example = Example("e", "hello world again", "en", np.zeros((20, 560), np.float16), word_starts=[0.1, 0.5, None])
    # LFR frames are centred at 12.5 + 60·i ms: 2 of them lie before 0.1 s, 9 before 0.5 s.
    assert word_start_targets(example, pieces.__getitem__) == ([2, 9], [0, 2])
    assert word_start_targets(Example("z", "你好", "zh", example.features), list) == ([], [])
    alphas = mx.array([[0.1, 0.2] + [0.25] * 8 + [0.0] * 10])  # 0.3 before frame 2, 2.05 before frame 9
    loss = word_start_loss(alphas, mx.array([[2, 9, 0]]), mx.array([[0.0, 2.0, -1.0]]))
    np.testing.assert_allclose(loss.item(), (0.3 + 0.05) / 2, rtol=1e-5)
    # A word at the very start (no frame before it) is compared with a running count of zero.
    np.testing.assert_allclose(word_start_loss(alphas, mx.array([[0]]), mx.array([[1.0]])).item(), 1.0)


def test_align_weight_trains_cif_counts_at_word_starts_from_the_command_line(corpus, tmp_path, capsys):
    from workbench.cli import main

    args = ["train", "paraformer", "--steps", "1", "--warmup", "1", "--max-frames", "400", "--workers", "1",
            "--align-weight", "0.5"]
    # The fixture corpus has no word timings: refused in one line, before any training.
    assert main([*args, "--corpus", str(corpus), "--out", str(tmp_path / "a")]) == 2
    assert capsys.readouterr().err.strip().endswith("--align-weight needs word timings, and its manifest has none "
                                                    "(rebuild the corpus with this version of workbench.corpus.build)")
    assert not (tmp_path / "a" / "checkpoint").exists()
    timed = tmp_path / "timed"
    timed.mkdir()
    (timed / "audio").symlink_to(corpus / "audio")
    rows = [json.loads(line) for line in (corpus / "train.jsonl").read_text().splitlines()]
    for row in rows:
        if row["language"] == "en":
            row["word_starts"] = [0.1, 0.45]
    (timed / "train.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    assert main([*args, "--corpus", str(timed), "--out", str(tmp_path / "b")]) in (0, None)
    assert json.loads((tmp_path / "b" / "train_config.json").read_text())["align_weight"] == 0.5
    log = json.loads((tmp_path / "b" / "log.jsonl").read_text().splitlines()[-1])
    assert log["word_start"] > 0
    # Nano has no CIF to align.
    assert main(["train", "nano", "--corpus", str(timed), "--out", str(tmp_path / "c"), "--steps", "1",
                 "--align-weight", "1"]) == 2
    assert capsys.readouterr().err.strip().endswith("--align-weight is for paraformer (it trains CIF's token count)")


@pytest.mark.parametrize("family, trainer, parts", [
    ("paraformer", train_paraformer, ["predictor", "encoder.encoders.1"]),
    ("nano", train_nano, ["audio_adaptor"]),
])
def test_train_only_updates_the_named_parts_and_nothing_else(family, trainer, parts, corpus, tmp_path):
    import mlx.core as mx

    config = TrainConfig(steps=1, warmup=1, ctc_weight=0.3)
    first = trainer(corpus, tmp_path / "a", config, max_frames=400, workers=1)
    # A lopsided normalisation for the first run's am.mvn: the continuation must keep it, where this
    # corpus's own statistics would give another.
    if family == "paraformer":
        from workbench.frontend import CMVN

        cmvn = CMVN.from_file(first / "am.mvn")
        (first / "am.mvn").write_text(CMVN(cmvn.shift + 1.0, cmvn.scale * 2.0).to_text())
    second = trainer(corpus, tmp_path / "b", TrainConfig(steps=2, warmup=1, lr=1e-2, ctc_weight=0.3,
                                                         train_only=parts),
                     max_frames=400, workers=1, init=first)
    before, after = mx.load(str(first / "model.safetensors")), mx.load(str(second / "model.safetensors"))
    named = {k for k in before if any(k == p or k.startswith(p + ".") for p in parts)}
    changed = {k for k in before if not np.array_equal(np.array(before[k]), np.array(after[k]))}
    assert changed and changed <= named  # only named parts move (a weight may keep its fp16 value)
    assert len(changed) > len(named) // 2
    for name in ("ctc_head.safetensors", "am.mvn"):
        if (first / name).exists():
            assert (second / name).read_bytes() == (first / name).read_bytes()
    assert json.loads((tmp_path / "b" / "train_config.json").read_text())["train_only"] == parts


def test_train_only_ctc_gives_a_model_without_a_head_one_and_leaves_the_model_as_it_was(corpus, tmp_path):
    import mlx.core as mx

    first = train_nano(corpus, tmp_path / "a", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1)
    assert not (first / "ctc_head.safetensors").exists()
    second = train_nano(corpus, tmp_path / "b", TrainConfig(steps=3, warmup=1, lr=1e-2, ctc_weight=1.0, log_every=1,
                                                            train_only=["ctc"]),
                        max_frames=400, workers=1, init=first)
    before, after = mx.load(str(first / "model.safetensors")), mx.load(str(second / "model.safetensors"))
    assert all(np.array_equal(np.array(before[k]), np.array(after[k])) for k in before)
    log = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["ctc"] < log[0]["ctc"]  # the head alone learns
    head = mx.load(str(second / "ctc_head.safetensors"))
    vocab = json.loads((first / "config.json").read_text())["llm_conf"]["vocab_size"]
    assert head["ctc_lo.weight"].shape == (vocab + 1, before["audio_encoder.after_norm.weight"].shape[0])


def test_train_only_is_refused_without_init_or_for_a_part_the_model_lacks(corpus, tmp_path, capsys):
    from workbench.cli import main

    args = ["train", "paraformer", "--corpus", str(corpus), "--steps", "1", "--max-frames", "400", "--workers", "1"]
    assert main([*args, "--out", str(tmp_path / "a"), "--train-only", "predictor"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --train-only continues a run: give --init (a model part cannot be trained alone from random weights "
        "around it)")
    first = train_paraformer(corpus, tmp_path / "b", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1)
    assert main([*args, "--out", str(tmp_path / "c"), "--init", str(first), "--train-only", "predicter"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --train-only predicter: {first} has no weights under that name (name a part by its weights' "
        "prefix: decoder, encoder, predictor, ctc for the CTC head, or a layer such as decoder.decoders.0)")
    # The demo's encoder has encoders0.0 and encoders.0 to encoders.6: no layer 7.
    assert main([*args, "--out", str(tmp_path / "d"), "--init", str(first), "--train-only", "encoder.encoders.7"]) == 2
    assert "encoder.encoders.7: " in capsys.readouterr().err
    # The CTC head trains only where the loss has a CTC term.
    assert main([*args, "--out", str(tmp_path / "e"), "--init", str(first), "--train-only", "ctc"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --train-only ctc: the CTC head is trained only with --ctc-weight above 0")
    assert not any((tmp_path / name).exists() for name in "acde")


@pytest.mark.parametrize("family, trainer", [("paraformer", train_paraformer), ("nano", train_nano)])
def test_frame_length_sets_the_exported_frontend_and_carries_over_to_a_continuation(family, trainer, corpus, tmp_path):
    from workbench.frontend import CMVN, FrontendConf, apply_lfr, kaldi_fbank

    first = trainer(corpus, tmp_path / "a", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1)
    longer = trainer(corpus, tmp_path / "b", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1,
                     init=first, frame_length=64)
    assert json.loads((longer / "config.json").read_text())["frontend_conf"]["frame_length"] == 64
    model = workbench.load(longer)
    assert model.frontend.conf.window_samples == 1024  # 64 ms at 16 kHz
    # A continuation without the option keeps the earlier run's window.
    kept = trainer(corpus, tmp_path / "c", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1, init=longer)
    assert json.loads((kept / "config.json").read_text())["frontend_conf"]["frame_length"] == 64
    if family == "paraformer":
        # The 25 ms run's normalisation no longer centres 64 ms features: the corpus's own does.
        conf = FrontendConf(frame_length=64)
        feats = np.concatenate([apply_lfr(kaldi_fbank(sf.read(p, dtype="float32")[0], conf), 7, 6)
                                for p in sorted((corpus / "audio").iterdir())])
        cmvn = CMVN.from_file(longer / "am.mvn")
        np.testing.assert_allclose(cmvn.shift, -feats.mean(0), atol=2e-2)  # features are kept in fp16
        assert not np.allclose(cmvn.shift, CMVN.from_file(first / "am.mvn").shift, atol=0.1)
        assert (kept / "am.mvn").read_bytes() == (longer / "am.mvn").read_bytes()


def test_frame_length_shorter_than_the_frame_shift_is_refused_in_one_line(corpus, tmp_path, capsys):
    import mlx.core as mx

    from workbench.cli import main

    default = mx.set_cache_limit(0)
    mx.set_cache_limit(default)
    assert main(["train", "nano", "--corpus", str(corpus), "--out", str(tmp_path / "a"), "--steps", "1",
                 "--max-frames", "400", "--workers", "1", "--frame-length", "5", "--cache-limit-gb", "1.5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --frame-length 5: the window must be at least the 10 ms frame shift")
    assert not (tmp_path / "a").exists()
    assert mx.set_cache_limit(default) == 3 * 2**29  # --cache-limit-gb took effect
    # Past the bound a model's config.json is loaded with: refused, not exported unloadable.
    assert main(["train", "paraformer", "--corpus", str(corpus), "--out", str(tmp_path / "b"), "--steps", "1",
                 "--max-frames", "400", "--workers", "1", "--frame-length", "70000"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --frame-length: frontend_conf.frame_length = 70000 is out of range [1, 65536]")
    assert not (tmp_path / "b").exists()
    assert main(["train", "nano", "--corpus", str(corpus), "--out", str(tmp_path / "c"), "--steps", "1",
                 "--cache-limit-gb", "-1"]) == 2
    assert capsys.readouterr().err.strip() == "error: --cache-limit-gb is a size, at least 0 (no cache), not -1.0"
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("family, trainer, encoder", [("paraformer", train_paraformer, "encoder"),
                                                      ("nano", train_nano, "audio_encoder")])
def test_pitch_widens_the_first_layer_of_an_earlier_run_and_a_continuation_keeps_it(family, trainer, encoder, corpus,
                                                                                      tmp_path):
    import mlx.core as mx

    first = trainer(corpus, tmp_path / "a", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1)
    # A vanishing learning rate: the export shows the widened start itself.
    pitched = trainer(corpus, tmp_path / "b", TrainConfig(steps=1, warmup=1, lr=1e-12), max_frames=400, workers=1,
                      init=first, pitch=True)
    config = json.loads((pitched / "config.json").read_text())
    assert config["frontend_conf"]["pitch"] is True and config[f"{encoder}_conf"]["input_size"] == 7 * 84
    # Nano, without CMVN, hears its pitch features at the mel bins' scale; Paraformer's CMVN sets theirs.
    gain = 16.0 if family == "nano" else 1.0
    assert config["frontend_conf"]["pitch_gain"] == gain
    before, after = (mx.load(str(d / "model.safetensors")) for d in (first, pitched))
    name = f"{encoder}.encoders0.0.self_attn.linear_q_k_v.weight"
    old, new = np.array(before[name]), np.array(after[name])
    old, new = old.reshape(len(old), 7, 80), new.reshape(len(new), 7, 84)
    # Each LFR frame's 80 mel columns keep their weights; its four pitch columns start at zero.
    np.testing.assert_array_equal(new[:, :, :80], old)
    assert not new[:, :, 80:].any()
    scale = np.array(after[f"{encoder}.encoders0.0.norm1.weight"]).reshape(7, 84)
    np.testing.assert_array_equal(scale[:, 80:], 1)
    assert set(before) == set(after)
    model = workbench.load(pitched)
    assert model.frontend.conf.pitch and model.transcribe(speech_like(1.5, 99), sample_rate=16000).timings["total"] > 0
    kept = trainer(corpus, tmp_path / "c", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1, init=pitched)
    assert json.loads((kept / "config.json").read_text())["frontend_conf"] == config["frontend_conf"]


def test_speed_perturbation_moves_pitch_and_tempo_and_word_times_together(tmp_path):
    from workbench.frontend import FrontendConf
    from workbench.train.data import load_examples

    # A 1 kHz tone, 2 s long: heard 10 % faster it is 1.1 kHz for 1.82 s, slower 0.9 kHz for 2.22 s.
    t = np.arange(32000) / 16000
    sf.write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 1000 * t), 16000)
    rows = [{"id": str(i), "audio": "tone.wav", "text": "x", "language": "en", "word_starts": [0.5, None]}
            for i in range(40)]
    plain = load_examples(rows[:1], tmp_path, FrontendConf(), workers=1)[0]
    examples = load_examples(rows, tmp_path, FrontendConf(), workers=1, speeds=[0.9, 1.0, 1.1], seed=3)
    assert plain.word_starts == [0.5, None]

    def peak_mel_bin(example):  # the strongest mel bin (of the first of the 7 stacked fbank frames), edges left out
        return int(np.argmax(example.features[3:-3, :80].astype(np.float32).mean(0)))

    by_frames = {}
    for ex in examples:
        by_frames.setdefault(len(ex.features), []).append(ex)
    assert len(by_frames) == 3  # each speed drawn among 40 rows
    slow, same, fast = (by_frames[n] for n in sorted(by_frames, reverse=True))
    assert len(same[0].features) == len(plain.features)
    np.testing.assert_array_equal(same[0].features, plain.features)
    # Frames at 60 ms per LFR frame: 2 s / speed of audio.
    assert abs(len(fast[0].features) / len(plain.features) - 1 / 1.1) < 0.02
    assert abs(len(slow[0].features) / len(plain.features) - 1 / 0.9) < 0.02
    assert peak_mel_bin(slow[0]) < peak_mel_bin(plain) < peak_mel_bin(fast[0])
    assert fast[0].word_starts == [pytest.approx(0.5 / 1.1), None]
    assert slow[0].word_starts == [pytest.approx(0.5 / 0.9), None]
    # The draw is the run's seed's: the same speeds again.
    again = load_examples(rows, tmp_path, FrontendConf(), workers=1, speeds=[0.9, 1.0, 1.1], seed=3)
    assert [len(e.features) for e in again] == [len(e.features) for e in examples]


def test_speed_perturb_is_recorded_with_the_recipe_and_refused_past_half_or_double(corpus, tmp_path, capsys):
    from workbench.cli import main

    args = ["train", "nano", "--corpus", str(corpus), "--steps", "1", "--warmup", "1", "--max-frames", "400",
            "--workers", "1", "--speed-perturb"]
    assert main([*args, "0.9", "2.5", "--out", str(tmp_path / "a")]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --speed-perturb takes speeds from 0.5 to 2 (such as 0.9 1.0 1.1), not 2.5")
    assert not (tmp_path / "a").exists()
    assert main([*args, "0.9", "1.1", "--out", str(tmp_path / "b")]) in (0, None)
    assert json.loads((tmp_path / "b" / "train_config.json").read_text())["speed_perturb"] == [0.9, 1.1]


def test_encoder_init_gives_a_nano_the_paraformers_encoder_frontend_and_normalisation(corpus, tmp_path):
    import mlx.core as mx

    para = train_paraformer(corpus, tmp_path / "p", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1,
                            pitch=True)
    nano = train_nano(corpus, tmp_path / "n", TrainConfig(steps=1, warmup=1, ctc_weight=0.3), max_frames=400,
                      workers=1)
    grafted = train_nano(corpus, tmp_path / "g", TrainConfig(steps=2, warmup=1, lr=1e-2, ctc_weight=0.3,
                                                             train_only=["audio_adaptor", "llm", "ctc"]),
                         max_frames=400, workers=1, init=nano, encoder_init=para)
    para_config, config = (json.loads((d / "config.json").read_text()) for d in (para, grafted))
    assert config["audio_encoder_conf"] == para_config["encoder_conf"]  # 8 blocks, no tp_encoders
    assert config["frontend_conf"] == para_config["frontend_conf"] and config["frontend_conf"]["pitch"]
    assert (grafted / "am.mvn").read_bytes() == (para / "am.mvn").read_bytes()
    encoder, before, after = (mx.load(str(d / "model.safetensors")) for d in (para, nano, grafted))
    # The earlier CTC head read the encoder the graft replaced: a new one starts instead.
    old_head, new_head = (mx.load(str(d / "ctc_head.safetensors"))["ctc_lo.weight"] for d in (nano, grafted))
    assert np.mean(np.array(new_head) != np.array(old_head)) > 0.99
    moved = {k: v for k, v in after.items() if k.startswith("audio_encoder.")}
    assert {k[len("audio_"):] for k in moved} == {k for k in encoder if k.startswith("encoder.")}
    assert all(np.array_equal(np.array(v), np.array(encoder[k[len("audio_"):]])) for k, v in moved.items())
    assert not np.array_equal(np.array(after["audio_adaptor.linear1.weight"]),
                              np.array(before["audio_adaptor.linear1.weight"]))
    # Loaded, the Nano normalises its features by the Paraformer's am.mvn, so its encoder hears a
    # clip as the Paraformer's does (only the layer norms' epsilon differs: 1e-5 against 1e-12).
    clip = speech_like(1.5, 99)
    heard = [workbench.load(d).transcribe(clip, sample_rate=16000, capture=["encoder.out"]).captures["encoder.out"]
             for d in (para, grafted)]
    np.testing.assert_allclose(heard[1], heard[0], atol=2e-3)
    # A continuation keeps the grafted sizes, frontend and normalisation.
    kept = train_nano(corpus, tmp_path / "k", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1,
                      init=grafted)
    assert json.loads((kept / "config.json").read_text()) == config
    assert (kept / "am.mvn").read_bytes() == (para / "am.mvn").read_bytes()
    # An am.mvn of the wrong width is refused when the model loads.
    from workbench.errors import CheckpointError
    from workbench.frontend import CMVN

    (kept / "am.mvn").write_text(CMVN(np.zeros(560, np.float32), np.ones(560, np.float32)).to_text())
    with pytest.raises(CheckpointError, match=r"am.mvn is 560-dimensional but the frontend gives 588 features$"):
        workbench.load(kept)


def test_encoder_init_is_refused_in_one_line_where_it_cannot_apply(corpus, tmp_path, capsys):
    from workbench.cli import main

    nano = train_nano(corpus, tmp_path / "n", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1)
    para = train_paraformer(corpus, tmp_path / "p", TrainConfig(steps=1, warmup=1), max_frames=400, workers=1)
    args = ["train", "nano", "--corpus", str(corpus), "--steps", "1", "--max-frames", "400", "--workers", "1",
            "--out", str(tmp_path / "out")]
    cases = [
        ([*args, "--encoder-init", str(para)],
         "--encoder-init replaces the encoder of a Nano to continue: give --init (the model whose adaptor and LLM "
         "carry over)"),
        ([*args, "--init", str(nano), "--encoder-init", str(para), "--pitch"],
         "--encoder-init keeps the Paraformer's frontend, which its encoder was trained on: leave out --pitch and "
         "--frame-length"),
        ([*args, "--init", str(nano), "--encoder-init", str(nano)],
         f"{nano}: not a paraformer model directory to take an encoder from (no am.mvn)"),
        (["train", "paraformer", *args[2:], "--init", str(para), "--encoder-init", str(para)],
         "--encoder-init is for nano (it gives a Nano a Paraformer's encoder)"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        assert capsys.readouterr().err.strip() == f"error: {message}"
    # A Nano grafted earlier has an am.mvn too, and is still no Paraformer.
    shutil.copyfile(para / "am.mvn", nano / "am.mvn")
    assert main([*args, "--init", str(nano), "--encoder-init", str(nano)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {nano}: --encoder-init takes a paraformer's encoder, and this model is 'fun_asr_nano'")
    assert not (tmp_path / "out").exists()
