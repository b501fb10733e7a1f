"""What the upstream-FunASR oracles (:mod:`paraformer_upstream`, :mod:`nano_upstream`) have in common.

Both models share the WavFrontend (16 kHz, 80 mels, LFR 7/6) and the SAN-M encoder settings, and both
oracles build and load model directories, run the frontend and guard the caller's RNG state the same way;
that lives here. Like the oracles, this module imports ``funasr`` and ``torch`` lazily.
"""

from __future__ import annotations

import contextlib
import functools
import pathlib
import random
from typing import Any, Callable, Iterable

import numpy as np

SAMPLE_RATE = 16000
N_MELS = 80
LFR_M, LFR_N = 7, 6
FEAT_DIM = N_MELS * LFR_M  # 560: encoder input size of both models, at every size

# SAN-M encoder settings that paraformer-zh's SANMEncoder and Fun-ASR-Nano's SenseVoiceEncoderSmall share
# in the published configs. The dropouts do nothing in eval mode; they keep the files looking like the
# published ones.
SANM_ENCODER_CONF: dict[str, Any] = dict(
    dropout_rate=0.1,
    positional_dropout_rate=0.1,
    attention_dropout_rate=0.1,
    input_layer="pe",
    pos_enc_class="SinusoidalPositionEncoder",
    normalize_before=True,
    kernel_size=11,
    sanm_shfit=0,
    selfattention_layer_type="sanm",
)


# --------------------------------------------------------------------------------------------------------
# Model directory
# --------------------------------------------------------------------------------------------------------


def wav_frontend_conf(**extra: Any) -> dict[str, Any]:
    """``frontend_conf`` of the published WavFrontend (hamming, 25/10 ms, 80 mels, LFR 7/6), then ``extra``,
    then ``dither`` pinned to 0: upstream's default is 1.0 (random output), and the oracle must be
    deterministic."""
    return dict(
        fs=SAMPLE_RATE,
        window="hamming",
        n_mels=N_MELS,
        frame_length=25,
        frame_shift=10,
        lfr_m=LFR_M,
        lfr_n=LFR_N,
        **extra,
        dither=0.0,
    )


def dump_yaml(cfg: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, default_flow_style=False)


def build_upstream(cfg: dict[str, Any], *, cmvn_file: pathlib.Path | None = None, **injected: Any):
    """Instantiate frontend + model from a config dict the way ``AutoModel.build_model`` does.

    ``cmvn_file`` is the ``am.mvn`` that upstream's loader would find in the model directory; ``injected``
    are further model arguments that the loader derives rather than reads (e.g. ``vocab_size``).
    """
    from funasr.register import tables

    extra = {} if cmvn_file is None else {"cmvn_file": str(cmvn_file)}
    frontend = tables.frontend_classes.get(cfg["frontend"])(**cfg["frontend_conf"], **extra)
    # AutoModel merges model_conf with the whole config (deep_update(model_conf, kwargs)) and injects
    # input_size from the frontend (and vocab_size from the tokenizer, where there is one).
    model_conf = {**cfg["model_conf"], **cfg, "input_size": frontend.output_size(), **injected}
    model = tables.model_classes.get(cfg["model"])(**model_conf)
    return model, frontend


@contextlib.contextmanager
def preserved_global_rng():
    """Leave the caller's global RNG state (python, numpy, torch CPU) as it was.

    Upstream both reseeds them (``AutoModel.build_model`` calls ``set_all_random_seed``) and draws from
    them (layer drop in eval mode); and building a model with a given seed must not depend on them.
    """
    import torch

    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def calibration_waveform(seed: int, seconds: float) -> np.ndarray:
    """Speech-like test signal: gliding harmonic 'voiced' segments, noise bursts and a pause."""
    rng = np.random.default_rng([seed, 16000])
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    f0 = 120.0 + 60.0 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voiced = sum(rng.uniform(0.2, 1.0) / k * np.sin(k * phase) for k in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * 2.3 * t + rng.uniform(0, 2 * np.pi)), 0.0, None) ** 2
    noise = rng.standard_normal(n) * np.clip(np.sin(2 * np.pi * 1.1 * t), 0.0, None)
    x = 0.15 * voiced * env + 0.05 * noise
    x[int(0.45 * n) : int(0.55 * n)] *= 0.01  # near-silent pause
    return x.astype(np.float32)


# --------------------------------------------------------------------------------------------------------
# Running upstream
# --------------------------------------------------------------------------------------------------------


def cached_per_model_pt(maxsize: int):
    """Memoise a loader of model directories; the loader is called with the resolved path as a string.

    model.pt's mtime is part of the key so a directory rebuilt in place is not served from the cache.
    """

    def decorate(load: Callable[[str], Any]) -> Callable[[str | pathlib.Path], Any]:
        @functools.lru_cache(maxsize=maxsize)
        def cached(model_dir: str, _stamp: int) -> Any:
            return load(model_dir)

        @functools.wraps(load)
        def get(model_dir: str | pathlib.Path) -> Any:
            path = pathlib.Path(model_dir).resolve()
            return cached(str(path), (path / "model.pt").stat().st_mtime_ns)

        get.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return get

    return decorate


def load_upstream(model_dir: str, *, skip_prefixes: tuple[str, ...] = (), **overrides: Any):
    """Load the directory with upstream's own loader, then insist the weights match model.pt exactly.

    ``overrides`` go to ``AutoModel.build_model`` (as config keys); ``skip_prefixes`` are model.pt keys the
    built model is not meant to have. Returns upstream's ``(model, kwargs)``, the model in fp32 eval mode;
    ``kwargs`` is what ``AutoModel.inference`` would pass on (config, frontend, tokenizer, device).
    """
    import torch
    from funasr.auto.auto_model import AutoModel

    with preserved_global_rng():
        # model=<local dir> resolves through funasr.download (config.yaml, and tokens.json / am.mvn where
        # present; no network), then builds tokenizer, frontend and model and loads model.pt. ncpu is
        # passed because build_model otherwise sets torch's global thread count to 4.
        model, kwargs = AutoModel.build_model(
            model=model_dir, device="cpu", ncpu=torch.get_num_threads(), **overrides
        )
    # Upstream's load_pretrained_model silently skips missing/mismatched keys; a strict reload makes a
    # malformed directory fail loudly instead of running with random weights.
    state = torch.load(pathlib.Path(model_dir) / "model.pt", map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith(skip_prefixes)}
    model.load_state_dict(state, strict=True)
    # Nano's LLM was built in llm_conf.llm_dtype (bf16); inference casts it to fp32 anyway
    # (llm_dtype="fp32"), do it up front so every stage runs in fp32 from the first call.
    model.float().eval()
    if kwargs["frontend"].dither != 0.0:
        raise ValueError(f"{model_dir}: frontend_conf.dither must be 0 for a deterministic oracle")
    return model, kwargs


def mono_waveform(waveform: np.ndarray) -> np.ndarray:
    """The waveform as a contiguous float32 array; it must be 1-D (mono)."""
    wav = np.ascontiguousarray(waveform, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"waveform must be 1-D mono, got shape {wav.shape}")
    return wav


def fbank_like_frontend(frontend, wav: np.ndarray):
    """The log-mel fbank, with the very call ``WavFrontend.forward`` makes (same module object it uses,
    ``wav_frontend.kaldi``: without torchaudio that is funasr's kaldi-native-fbank fallback)."""
    import torch
    from funasr.frontends import wav_frontend

    x = torch.from_numpy(wav.copy())
    n = x.numel()
    return wav_frontend.kaldi.fbank(
        (x * (1 << 15) if frontend.upsacle_samples else x)[None],
        num_mel_bins=frontend.n_mels,
        frame_length=min(frontend.frame_length, n / frontend.fs * 1000),
        frame_shift=frontend.frame_shift,
        dither=frontend.dither,
        energy_floor=0.0,
        window_type=frontend.window,
        sample_frequency=frontend.fs,
        snip_edges=frontend.snip_edges,
    )


def features_like_frontend(frontend, fbank):
    """What ``WavFrontend.forward`` makes of that fbank: LFR, then CMVN where the frontend has one."""
    from funasr.frontends import wav_frontend

    feats = wav_frontend.apply_lfr(fbank.clone(), frontend.lfr_m, frontend.lfr_n)
    if frontend.cmvn is not None:
        feats = wav_frontend.apply_cmvn(feats, frontend.cmvn)
    return feats


# --------------------------------------------------------------------------------------------------------
# Smoke run (python -m workbench.reference.<oracle> ...)
# --------------------------------------------------------------------------------------------------------


def demo_waveform(seconds: float) -> np.ndarray:
    """Noise-modulated tone."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    env = 0.5 + 0.5 * np.convolve(rng.standard_normal(t.size), np.ones(800) / 800 * 20, mode="same")
    return (0.3 * np.clip(env, 0, 1) * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def smoke_args(parser, choices: Iterable[str], default: list[str]):
    """Parse the command line: ``parser``'s own options plus ``--sizes`` and ``--seconds``."""
    parser.add_argument("--sizes", nargs="+", default=default, choices=sorted(choices))
    parser.add_argument("--seconds", type=float, default=3.0)
    return parser.parse_args()


def smoke_run(
    args,
    name: str,
    variant: str,
    build: Callable[[str, str], pathlib.Path],
    run: Callable[[pathlib.Path, np.ndarray], dict[str, Any]],
    report: Callable[[dict[str, Any]], None],
) -> None:
    """For each of ``args.sizes``: ``build(path, size)`` a model directory under /tmp/oracle_<name>_<size>
    <variant>, describe its model.pt, ``run`` the oracle twice (load + run, then the cached model) on a
    demo waveform of ``args.seconds``, print the shapes of what it returned and ``report`` on it."""
    import time

    import torch

    wav = demo_waveform(args.seconds)
    for size in args.sizes:
        tag = f"{size}{variant}"
        t0 = time.perf_counter()
        d = build(f"/tmp/oracle_{name}_{tag}", size)
        built_s = time.perf_counter() - t0
        state = torch.load(d / "model.pt", map_location="cpu", weights_only=True)
        counts: dict[str, list[int]] = {}
        for k, v in state.items():
            c = counts.setdefault(k.split(".")[0], [0, 0])
            c[0] += 1
            c[1] += v.numel()
        mib = (d / "model.pt").stat().st_size / 2**20
        print(f"[{tag}] built {d} in {built_s:.1f}s, model.pt {mib:.1f} MiB: "
              + ", ".join(f"{p} {n} tensors/{m:,} params" for p, (n, m) in counts.items())
              + f"; total {len(state)} tensors")
        del state
        t1 = time.perf_counter()
        r = run(d, wav)
        t2 = time.perf_counter()
        r = run(d, wav)  # cached model
        t3 = time.perf_counter()
        print(f"[{tag}] on {args.seconds:g}s audio: first run (load+run) {t2 - t1:.1f}s, "
              f"cached {t3 - t2:.2f}s")
        width = max(map(len, r)) + 1
        for k, v in r.items():
            print(f"  {k:{width}s} {v.shape if isinstance(v, np.ndarray) else repr(v)[:100]}")
        report(r)
