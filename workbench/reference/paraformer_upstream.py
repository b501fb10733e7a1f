"""Upstream FunASR Paraformer as a test oracle.

No official Paraformer weights can be downloaded where the tests run, so the parity tests build their own
upstream-format model directories from the real upstream classes (``funasr`` 1.4.16) with random weights,
and run the real upstream pipeline on them stage by stage:

* :func:`make_paraformer_dir` writes ``config.yaml``, ``model.pt``, ``am.mvn`` and ``tokens.json`` in the
  layout of the published ``paraformer-zh`` checkpoint (optionally SeACo-Paraformer).
* :func:`run_paraformer` loads such a directory with upstream's own loader (``AutoModel.build_model``)
  and returns the intermediate tensors (fbank, features, encoder output, CIF alphas, acoustic embeddings,
  decoder logits) plus upstream's greedy ids and post-processed text.

Everything here calls upstream code; nothing of the model is re-implemented. ``funasr`` and ``torch``
are imported lazily so that merely importing this module (e.g. during test collection) stays cheap. What
this oracle shares with the Fun-ASR-Nano one is in :mod:`common`.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np

from .common import (
    FEAT_DIM,
    LFR_M,
    N_MELS,
    SAMPLE_RATE,
    SANM_ENCODER_CONF,
    build_upstream,
    cached_per_model_pt,
    calibration_waveform,
    dump_yaml,
    fbank_like_frontend,
    features_like_frontend,
    load_upstream,
    mono_waveform,
    preserved_global_rng,
    smoke_args,
    smoke_run,
    wav_frontend_conf,
)

# "large" is the exact paraformer-large (paraformer-zh) architecture; "tiny" keeps every structural
# feature (heads, FSMN kernel, 560-dim LFR input, decoders3, tail handling) at a size that builds and
# runs in well under a second, for tests that loop over many waveforms.
_SIZES: dict[str, dict[str, int]] = {
    "large": dict(d=512, heads=4, units=2048, enc_blocks=50, dec_blocks=16, vocab=8404, seaco_units=1024),
    "tiny": dict(d=64, heads=4, units=128, enc_blocks=3, dec_blocks=2, vocab=300, seaco_units=64),
}

# Targets for the post-init rescaling in _calibrate (see there for why).
_ALPHA_LOGIT_MEAN = -0.3  # sigmoid(-0.3) = 0.43 -> about 7 tokens per second of audio
_ALPHA_LOGIT_STD = 1.2  # +-2 sigma -> alphas ~0.06 .. 0.89
_LOGIT_STD = 5.0  # per-position std of decoder logits over the vocabulary

# The dropouts of both decoders' templates (inactive in eval mode).
_DECODER_DROPOUTS = dict(
    dropout_rate=0.1,
    positional_dropout_rate=0.1,
    self_attention_dropout_rate=0.1,
    src_attention_dropout_rate=0.1,
)


# --------------------------------------------------------------------------------------------------------
# Model directory
# --------------------------------------------------------------------------------------------------------


def make_paraformer_dir(
    path: str | pathlib.Path, *, size: str = "tiny", seed: int = 0, seaco: bool = False
) -> pathlib.Path:
    """Write an upstream-format Paraformer model directory with random (but well-conditioned) weights.

    ``size="large"`` is the exact paraformer-large architecture (220,084,533 parameters, 956 tensors for
    the plain model); ``seaco=True`` builds upstream's ``SeacoParaformer`` (CifPredictorV3, bias encoder,
    SeACo decoder, hotword output layer) instead. Deterministic given ``size``, ``seed`` and ``seaco``.
    """
    import torch

    if size not in _SIZES:
        raise ValueError(f"size must be one of {sorted(_SIZES)}, got {size!r}")
    out = pathlib.Path(path)
    out.mkdir(parents=True, exist_ok=True)

    tokens = _make_tokens(_SIZES[size]["vocab"])
    # json.dumps defaults (one line, \uXXXX escapes): the published file's size (93.7 kB for 8404 tokens)
    # fits escaped CJK, not raw UTF-8.
    (out / "tokens.json").write_text(json.dumps(tokens), encoding="utf-8")
    (out / "am.mvn").write_text(_make_am_mvn(seed), encoding="utf-8")
    cfg = _make_config(size, seaco)
    (out / "config.yaml").write_text(dump_yaml(cfg), encoding="utf-8")

    with preserved_global_rng():
        torch.manual_seed(seed)
        model, frontend = build_upstream(cfg, cmvn_file=out / "am.mvn", vocab_size=len(tokens))
        model.eval()
        _calibrate(model, frontend, seed)
    torch.save(model.state_dict(), out / "model.pt")
    return out


def _make_config(size: str, seaco: bool) -> dict[str, Any]:
    """config.yaml in upstream layout (FunASR ``models/{paraformer,seaco_paraformer}/template.yaml``)."""
    p = _SIZES[size]
    model_conf: dict[str, Any] = dict(
        ctc_weight=0.0,
        lsm_weight=0.1,
        length_normalized_loss=True,
        predictor_weight=1.0,
        predictor_bias=1,
        sampling_ratio=0.75,
    )
    if seaco:
        model_conf.update(
            inner_dim=p["d"],
            bias_encoder_type="lstm",
            bias_encoder_bid=False,
            seaco_lsm_weight=0.1,
            seaco_length_normal=True,
            train_decoder=False,
            # 8377 in the published 8404-token model; only consulted when hotwords are given.
            NO_BIAS=p["vocab"] - 27,
        )
    cfg: dict[str, Any] = {
        "model": "SeacoParaformer" if seaco else "Paraformer",
        "model_conf": model_conf,
        "encoder": "SANMEncoder",
        "encoder_conf": dict(
            output_size=p["d"],
            attention_heads=p["heads"],
            linear_units=p["units"],
            num_blocks=p["enc_blocks"],
            **SANM_ENCODER_CONF,
        ),
        "decoder": "ParaformerSANMDecoder",
        "decoder_conf": dict(
            attention_heads=p["heads"],
            linear_units=p["units"],
            num_blocks=p["dec_blocks"],
            **_DECODER_DROPOUTS,
            att_layer_num=p["dec_blocks"],
            kernel_size=11,
            sanm_shfit=0,
        ),
    }
    if seaco:
        # Verbatim from the SeACo template. Note: num_blocks=4 without att_layer_num makes upstream build
        # att_layer_num=6 (the class default) full layers and no decoders2 -- as in the published checkpoint.
        cfg["seaco_decoder"] = "ParaformerSANMDecoder"
        cfg["seaco_decoder_conf"] = dict(
            attention_heads=p["heads"],
            linear_units=p["seaco_units"],
            num_blocks=4,
            **_DECODER_DROPOUTS,
            kernel_size=21,
            sanm_shfit=0,
            use_output_layer=False,
            wo_input_layer=True,
        )
        cfg["predictor"] = "CifPredictorV3"
        cfg["predictor_conf"] = dict(
            idim=p["d"],
            threshold=1.0,
            l_order=1,
            r_order=1,
            tail_threshold=0.45,
            smooth_factor2=0.25,
            noise_threshold2=0.01,
            upsample_times=3,
            use_cif1_cnn=False,
            upsample_type="cnn_blstm",
        )
    else:
        cfg["predictor"] = "CifPredictorV2"
        cfg["predictor_conf"] = dict(idim=p["d"], threshold=1.0, l_order=1, r_order=1, tail_threshold=0.45)
    cfg.update(
        {
            "frontend": "WavFrontend",
            # The published plain-model config has no dither (=> upstream default 1.0, random output);
            # the oracle must be deterministic, so dither is pinned to 0 as in the SeACo template.
            "frontend_conf": wav_frontend_conf(),
            "specaug": "SpecAugLFR",  # training only; kept so the file looks like the published one
            "specaug_conf": dict(
                apply_time_warp=False,
                time_warp_window=5,
                time_warp_mode="bicubic",
                apply_freq_mask=True,
                freq_mask_width_range=[0, 30],
                lfr_rate=6,
                num_freq_mask=1,
                apply_time_mask=True,
                time_mask_width_range=[0, 12],
                num_time_mask=1,
            ),
            "tokenizer": "CharTokenizer",
            "tokenizer_conf": dict(unk_symbol="<unk>", split_with_space=True),
            "ctc_conf": dict(dropout_rate=0.0, ctc_type="builtin", reduce=True, ignore_nan_grad=True),
            "normalize": None,
        }
    )
    return cfg


def _make_tokens(vocab_size: int) -> list[str]:
    """tokens.json: specials, then a shuffled mix of CJK chars and English BPE pieces, ``<unk>`` last.

    Independent of the seed, so one size always has one vocabulary. The mix exercises every branch of
    upstream's ``sentence_postprocess``: all-Chinese, all-English (``@@`` continuation pieces, whole words,
    words with an apostrophe), mixed, and runs of single letters (merged to upper case by ``abbr_dispose``).
    """
    rng = np.random.default_rng(8404)
    n_mid = vocab_size - 4  # minus <blank>, <s>, </s>, <unk>
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    n_eng = max(n_mid // 4, 2 * len(letters))
    n_pieces = n_eng // 2
    n_words = n_eng - n_pieces - len(letters)
    n_cjk = n_mid - n_eng
    if n_cjk < 1 or n_words < 2:
        raise ValueError(f"vocab_size {vocab_size} too small")

    seen: set[str] = set(letters)

    def fresh_word() -> str:
        while True:
            w = "".join(rng.choice(letters, size=int(rng.integers(2, 7))))
            if w not in seen:
                seen.add(w)
                return w

    pieces = [fresh_word() + "@@" for _ in range(n_pieces)]
    words = ["don't", "it's"] + [fresh_word() for _ in range(n_words - 2)]
    # Common CJK block U+4E00..U+9FA5, all of which upstream's isChinese() accepts.
    cjk = [chr(0x4E00 + int(i)) for i in rng.choice(0x9FA6 - 0x4E00, size=n_cjk, replace=False)]
    mid = letters + pieces + words + cjk
    order = rng.permutation(len(mid))
    tokens = ["<blank>", "<s>", "</s>"] + [mid[i] for i in order] + ["<unk>"]
    assert len(tokens) == vocab_size and len(set(tokens)) == vocab_size
    return tokens


def _make_am_mvn(seed: int) -> str:
    """am.mvn (Kaldi nnet1 text) with realistic global CMVN stats for int16-scale log-mel fbank.

    Shift = -mean: about -15 at low mel bins falling to about -8.5 at the top (a speech-like spectral
    tilt), scale = 1/std in 0.14..0.16. 80 stats tiled 7x to 560 dims, like the LFR checkpoints. The
    layout matters: upstream's ``load_cmvn`` reads the line *after* ``<AddShift>`` / ``<Rescale>`` and takes
    tokens ``[3:-1]`` (skipping ``<LearnRateCoef> 0 [`` and ``]``), so each vector must be on one line.
    """
    rng = np.random.default_rng([seed, 560])
    tilt = np.linspace(0.0, 1.0, N_MELS)
    mean = 15.0 - 6.5 * tilt**0.7 + rng.uniform(-0.3, 0.3, N_MELS)
    shift = -np.clip(mean, 8.0, 15.0)
    scale = rng.uniform(0.14, 0.16, N_MELS)

    def vec(v: np.ndarray) -> str:
        return " ".join(f"{x:.6f}" for x in np.tile(v, LFR_M))

    d = FEAT_DIM
    return (
        "<Nnet>\n"
        f"<Splice> {d} {d}\n"
        "[ 0 ]\n"
        f"<AddShift> {d} {d}\n"
        f"<LearnRateCoef> 0 [ {vec(shift)} ]\n"
        f"<Rescale> {d} {d}\n"
        f"<LearnRateCoef> 0 [ {vec(scale)} ]\n"
        "</Nnet>\n"
    )


def _calibrate(model, frontend, seed: int) -> None:
    """Rescale two output heads so a random-weight model gives meaningful, well-separated outputs.

    Everything else keeps PyTorch's default init, under which the oracle would be weak in two places:

    * CIF alphas: the ``predictor.cif_output`` logit varies by only ~0.2 (std) across frames, so all alphas
      sit in ~0.35..0.55 and the token count is essentially ``0.45 * T`` whatever the audio. We rescale
      the weight (and set the bias) so that on a speech-like calibration signal the logit has mean -0.3 and
      std 1.2 across frames: alphas then span ~0.1..0.9, and the token count and fire positions depend on
      the encoder output, so they really test the encoder and the integrate-and-fire.
    * Decoder logits: the ``decoder.output_layer`` logits have a std of ~0.6 over the vocabulary (median
      top-1/top-2 gap ~0.14). We scale the weight so they have std 5 (median gap ~1, a few percent of
      positions under 0.05). That protects greedy ids against noise arising at or after the output layer
      (matmul order, log_softmax); noise already in the decoder hidden state is scaled by the same
      factor, so tests comparing ids should still compare the oracle's top-1/top-2 margin (from
      ``decoder_logits``) with their tolerance.

    The calibration is a pure function of the seed and the weights, so the directory stays deterministic.
    """
    import torch

    wav = torch.from_numpy(calibration_waveform(seed, seconds=4.0))
    captured: dict[str, torch.Tensor] = {}

    def grab(name):
        def hook(_module, _inputs, output):
            captured[name] = output.detach()

        return hook

    def forward_once():
        feats, feats_len = frontend(wav[None], [wav.numel()])
        enc, enc_len = model.encode(feats, feats_len)
        emb, token_num, _alphas, _peaks = model.calc_predictor(enc, enc_len)[:4]
        n = token_num.round().long()
        model.decoder(enc, enc_len, emb, n)

    head = model.predictor.cif_output
    with torch.no_grad():
        handle = head.register_forward_hook(grab("alpha_logit"))
        forward_once()
        handle.remove()
        z = captured["alpha_logit"][0, :, 0] - head.bias  # w . h part, per frame
        k = _ALPHA_LOGIT_STD / float(z.std())
        head.weight.mul_(k)
        head.bias.fill_(_ALPHA_LOGIT_MEAN - k * float(z.mean()))

        # Decoder input depends on the alphas, so measure the logits only after fixing the predictor.
        out = model.decoder.output_layer
        handle = out.register_forward_hook(grab("logits"))
        forward_once()
        handle.remove()
        logits = captured["logits"][0]
        out.weight.mul_(_LOGIT_STD / float(logits.std(dim=-1).mean()))


# --------------------------------------------------------------------------------------------------------
# Running upstream
# --------------------------------------------------------------------------------------------------------


@cached_per_model_pt(maxsize=4)
def _load(model_dir: str) -> tuple[Any, dict[str, Any]]:
    return load_upstream(model_dir)


def run_paraformer(
    model_dir: str | pathlib.Path, waveform: np.ndarray, *, check_inference: bool = True
) -> dict[str, Any]:
    """Run upstream Paraformer stage by stage on one 16 kHz mono float waveform in [-1, 1].

    Returns numpy arrays (batch dimension removed; T = LFR frames, N = tokens, D = model dim, V = vocab):

    ``fbank`` [M,80]        log-mel exactly as ``WavFrontend.forward`` computes it (``funasr.utils.fbank``;
                            without torchaudio that is its kaldi-native-fbank fallback)
    ``fbank_knf`` [M,80]    the same computed directly with kaldi_native_fbank and spelled-out options
    ``features`` [T,560]    after LFR 7/6 and CMVN (``WavFrontend.forward`` output)
    ``encoder_out`` [T,D]
    ``alphas`` [T]          CIF weights of the valid frames (before tail handling)
    ``alphas_tail`` [T+1]   alphas after tail handling (+0.45 at index T), as integrated by CIF
    ``peaks`` [T+1]         the predictor's ``cif_peak`` (CifPredictorV2: fire indicator + fractional part of
                            the running sum; SeACo's CifPredictorV3 loop: the integrator value, >= 1 at a fire)
    ``token_num`` int       N = floor(sum(alphas_tail))
    ``acoustic_embeds`` [N,D]
    ``decoder_logits`` [N,V]  raw decoder output (before log_softmax)
    ``decoder_logprobs`` [N,V] log_softmax of it, which is what upstream's greedy search takes argmax of
    ``ids`` [N] int64       greedy ids, before dropping <blank>/<s>/</s>
    ``text`` str            ``model.inference()``'s text (SeACo: space-separated, because it always
                            computes timestamps)
    ``text_no_timestamp`` str  ``sentence_postprocess`` without timestamps (equals ``text`` for Paraformer)
    SeACo only: ``us_alphas``/``us_peaks`` [3T] upsampled timestamp alphas/peaks, and (with
    ``check_inference``) ``timestamp``, inference()'s [[start_ms, end_ms], ...].

    With ``check_inference`` (default) upstream's ``model.inference()`` is also run on the waveform and its
    text must equal the text of the stage-by-stage ids; without it (half the cost, for long clips on the
    large model) ``text`` is derived from the ids by the same ``sentence_postprocess`` call.
    """
    import torch
    from funasr.utils.postprocess_utils import sentence_postprocess

    model, kwargs = _load(model_dir)
    frontend, tokenizer = kwargs["frontend"], kwargs["tokenizer"]
    wav = mono_waveform(waveform)
    x = torch.from_numpy(wav.copy())
    n = x.numel()

    res: dict[str, Any] = {}
    # Upstream's layer stacks (MultiSequential) draw layer-drop probabilities from the global torch RNG
    # even in eval mode; the results do not depend on them, but the caller's RNG stream would.
    with torch.no_grad(), preserved_global_rng():
        fbank = fbank_like_frontend(frontend, wav)
        res["fbank"] = fbank.numpy()
        res["fbank_knf"] = _fbank_knf(wav)

        feats, feats_len = frontend(x[None], [n])
        # Guard against this copy of the fbank call drifting from WavFrontend.forward.
        if not torch.equal(features_like_frontend(frontend, fbank), feats[0]):
            raise AssertionError("fbank stage disagrees with WavFrontend.forward")
        res["features"] = feats[0].numpy()

        enc, enc_len = model.encode(feats, feats_len)
        t = int(enc_len[0])
        res["encoder_out"] = enc[0, :t].numpy()

        emb, token_num, alphas, peaks = model.calc_predictor(enc, enc_len)[:4]
        res["alphas"] = alphas[0, :t].numpy()
        res["alphas_tail"] = alphas[0].numpy()
        res["peaks"] = peaks[0].numpy()
        n_tok = int(token_num.round().long()[0])
        res["token_num"] = n_tok

        d, v = enc.shape[-1], model.vocab_size
        if n_tok < 1:  # upstream returns no result at all in this case
            logits = torch.zeros(1, 0, v)
            emb = torch.zeros(1, 0, d)
        else:
            logits = model.decoder(enc, enc_len, emb, token_num.round().long())[0]
        logprobs = torch.log_softmax(logits, dim=-1)
        res["acoustic_embeds"] = emb[0, :n_tok].numpy()
        res["decoder_logits"] = logits[0, :n_tok].numpy()
        res["decoder_logprobs"] = logprobs[0, :n_tok].numpy()
        ids = logprobs[0, :n_tok].argmax(dim=-1)
        res["ids"] = ids.numpy().astype(np.int64)

        if n_tok >= 1 and hasattr(model, "calc_predictor_timestamp"):
            _, _, us_alphas, us_peaks = model.calc_predictor_timestamp(enc, enc_len, token_num.round().long())
            res["us_alphas"] = us_alphas[0, : 3 * t].numpy()
            res["us_peaks"] = us_peaks[0, : 3 * t].numpy()

        out = None
        if check_inference:
            out = model.inference(wav, key=["oracle"], tokenizer=tokenizer, frontend=frontend, device="cpu")

    kept = [i for i in res["ids"].tolist() if i not in (model.blank_id, model.sos, model.eos)]
    tokens = tokenizer.ids2tokens(kept)
    res["text_no_timestamp"] = sentence_postprocess(tokens)[0] if tokens else ""
    if getattr(model, "predictor_name", None) == "CifPredictorV3":
        # SeACo's inference() then always post-processes with timestamps, which space-separates the words;
        # the words do not depend on the timestamp values, so dummy ones reproduce its text.
        text = sentence_postprocess(tokens, [[0, 0]] * len(tokens))[0] if tokens else ""
    else:
        text = res["text_no_timestamp"]
    res["text"] = text

    if check_inference:
        # Plain Paraformer returns [] and SeACo ([],) when no token fires; otherwise (results, meta).
        results = out[0] if out else []
        res["text"] = results[0]["text"] if results else ""
        if results and "timestamp" in results[0]:
            res["timestamp"] = results[0]["timestamp"]
        if res["text"] != text:
            raise AssertionError(f"stage-by-stage ids {kept} give {text!r}, inference() gave {res['text']!r}")
    return res


def _fbank_knf(wav: np.ndarray) -> np.ndarray:
    """Log-mel fbank straight from kaldi_native_fbank with every option spelled out (spec §1.2)."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    fo = opts.frame_opts
    fo.samp_freq = float(SAMPLE_RATE)
    fo.frame_shift_ms = 10.0
    # Upstream shortens the window for clips under 25 ms (frame_length=min(25, duration)).
    fo.frame_length_ms = float(min(25.0, wav.size / SAMPLE_RATE * 1000))
    fo.dither = 0.0  # knf's own default is 3e-5
    fo.preemph_coeff = 0.97
    fo.remove_dc_offset = True
    fo.window_type = "hamming"
    fo.round_to_power_of_two = True
    fo.snip_edges = True
    opts.mel_opts.num_bins = N_MELS
    opts.mel_opts.low_freq = 20.0
    opts.mel_opts.high_freq = 0.0
    opts.use_energy = False
    opts.energy_floor = 0.0
    opts.raw_energy = True
    opts.htk_compat = False
    opts.use_log_fbank = True
    opts.use_power = True

    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(float(SAMPLE_RATE), (wav * 32768.0).astype(np.float32))
    fb.input_finished()
    if fb.num_frames_ready == 0:
        return np.zeros((0, N_MELS), np.float32)
    return np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)]).astype(np.float32)


# --------------------------------------------------------------------------------------------------------
# Smoke run:  python -m workbench.reference.paraformer_upstream [--sizes tiny large] [--seconds 3] [--seaco]
# --------------------------------------------------------------------------------------------------------


def _report(r: dict[str, Any]) -> None:
    a = r["alphas"]
    print(f"  alphas min/mean/max {a.min():.3f}/{a.mean():.3f}/{a.max():.3f}; "
          f"|fbank - fbank_knf|max {np.abs(r['fbank'] - r['fbank_knf']).max():.2e}")
    if r["token_num"]:
        top2 = np.sort(r["decoder_logits"], axis=-1)[:, -2:]
        print(f"  top1-top2 logit gap min/median {np.ptp(top2, axis=1).min():.3f}/"
              f"{np.median(np.ptp(top2, axis=1)):.3f}")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seaco", action="store_true")
    args = smoke_args(ap, choices=_SIZES, default=["tiny", "large"])
    smoke_run(
        args,
        name="paraformer",
        variant="-seaco" if args.seaco else "",
        build=lambda path, size: make_paraformer_dir(path, size=size, seed=0, seaco=args.seaco),
        run=run_paraformer,
        report=_report,
    )
