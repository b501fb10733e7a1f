"""`workbench bench`: how fast a model runs, per stage, optionally against upstream FunASR.

Times are medians of `repeat` runs after `warmup` runs. With `vs_upstream`, the upstream PyTorch
implementation runs in the same process on the same weights (our converter reads the very
upstream directory it loads) and the same audio, and the ratio is printed. Without an upstream
directory a full-size model with random weights is built through the reference package: speed
does not depend on weight values.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import mlx.core as mx

from .convert.nano import convert_nano
from .convert.paraformer import convert_paraformer
from .decoding import DecodingConfig
from .loading import load


def _median_runs(fn, warmup: int, repeat: int) -> tuple[float, list]:
    for _ in range(warmup):
        fn()
    times, outputs = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        outputs.append(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times), outputs


def _stage_medians(timings: list[dict]) -> dict[str, float]:
    return {k: round(statistics.median(t[k] for t in timings), 2) for k in timings[0]}


def _upstream_dir(family: str, upstream_dir: str | None, size: str, work: Path) -> Path:
    if upstream_dir:
        return Path(upstream_dir)
    if family == "paraformer":
        from .reference.paraformer_upstream import make_paraformer_dir

        return make_paraformer_dir(work / "upstream", size=size)
    from .reference.nano_upstream import make_nano_dir

    return make_nano_dir(work / "upstream", size=size)


def bench(family: str, *, upstream_dir: str | None = None, size: str = "large", seconds: float = 10.0,
          batch: int = 1, repeat: int = 5, warmup: int = 2, new_tokens: int = 32, vs_upstream: bool = False) -> dict:
    from .reference.signals import speech_like

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = _upstream_dir(family, upstream_dir, size, work)
        (convert_paraformer if family == "paraformer" else convert_nano)(src, work / "mlx")
        ours = load(work / "mlx")
        wav = speech_like(seconds, 0)
        clips = [wav] * batch
        if family == "paraformer":
            run = lambda: ours.transcribe_batch(clips, sample_rate=16000)  # noqa: E731
        else:
            # A fixed number of generated tokens, so decode speed is comparable: the only stop token
            # is one past the vocabulary, which the model can never produce.
            config = DecodingConfig(max_new_tokens=new_tokens, stop_tokens=(ours.config.llm_conf.vocab_size,))
            run = lambda: [ours.transcribe(wav, sample_rate=16000, decoding=config)]  # noqa: E731
        mx.reset_peak_memory()
        median, outputs = _median_runs(run, warmup, repeat)
        report = {
            "family": family, "weights": upstream_dir or f"random {size}", "audio_s": seconds, "batch": batch,
            "device": str(mx.default_device()), "ours_median_s": round(median, 4),
            "ours_x_real_time": round(seconds * batch / median, 1),
            "ours_stages_ms": _stage_medians([o[0].timings for o in outputs]),
            "ours_peak_memory_MB": round(mx.get_peak_memory() / 2**20, 1),
        }
        if family == "nano":
            # Decode speed as the difference between N generated tokens and one, so prefill and
            # the frontend drop out; measured the same way for upstream.
            one = DecodingConfig(max_new_tokens=1, stop_tokens=config.stop_tokens)
            single, _ = _median_runs(lambda: ours.transcribe(wav, sample_rate=16000, decoding=one), warmup, repeat)
            report["ours_decode_tokens_per_s"] = round((new_tokens - 1) / (median - single), 1)
            report["ours_generated_tokens"] = statistics.median(len(o[0].extra["steps"]) for o in outputs)
        if vs_upstream:
            upstream = (_bench_upstream(src, clips, warmup, repeat) if family == "paraformer"
                        else _bench_upstream_nano(src, wav, warmup, repeat, new_tokens))
            report.update(upstream)
            report["speedup_vs_upstream"] = round(report["upstream_median_s"] / median, 2)
            if family == "nano":
                report["decode_speedup_vs_upstream"] = round(
                    report["ours_decode_tokens_per_s"] / report["upstream_decode_tokens_per_s"], 2)
        return report


def _bench_upstream(src: Path, clips: list, warmup: int, repeat: int) -> dict:
    import torch

    from .reference.common import load_upstream

    model, kwargs = load_upstream(str(src))
    keys = [f"clip{i}" for i in range(len(clips))]

    def run():
        with torch.no_grad():
            return model.inference(clips if len(clips) > 1 else clips[0], key=keys, tokenizer=kwargs["tokenizer"],
                                   frontend=kwargs["frontend"], device="cpu", batch_size=len(clips))

    median, _ = _median_runs(run, warmup, repeat)
    return {"upstream_median_s": round(median, 4), "upstream_torch_threads": torch.get_num_threads()}


def _bench_upstream_nano(src: Path, wav, warmup: int, repeat: int, new_tokens: int) -> dict:
    """Upstream FunASRNano.inference in fp32 (its CPU path); `min_new_tokens` goes to transformers'
    generate so it produces exactly `new_tokens`, as ours does."""
    import torch

    from .reference.nano_upstream import load_nano_upstream

    model, kwargs = load_nano_upstream(str(src))
    audio = torch.from_numpy(wav.copy())

    def run(n: int):
        with torch.no_grad():
            return model.inference([audio], key=["bench"], **{**kwargs, "max_length": n, "llm_dtype": "fp32",
                                                              "llm_kwargs": {"min_new_tokens": n}})

    single, _ = _median_runs(lambda: run(1), warmup, repeat)
    median, _ = _median_runs(lambda: run(new_tokens), warmup, repeat)
    return {"upstream_median_s": round(median, 4), "upstream_torch_threads": torch.get_num_threads(),
            "upstream_decode_tokens_per_s": round((new_tokens - 1) / (median - single), 1)}
