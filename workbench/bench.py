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
from .errors import WorkbenchError
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
          batch: int = 1, repeat: int = 5, warmup: int = 2, new_tokens: int = 32, vs_upstream: bool = False,
          levels: str | None = None, upstream_device: str = "cpu", upstream_llm_dtype: str = "fp32") -> dict:
    """`levels` sets our precision per component (as `compare-quant` does, e.g. "bf16" or
    "llm=4bit"); upstream runs on `upstream_device`, its Nano LLM in `upstream_llm_dtype` (upstream's
    own autocast switch: fp32 on CPU, bf16 being the GPU default of the release config)."""
    from .quantize import apply_levels, parse_levels
    from .reference.signals import speech_like

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = _upstream_dir(family, upstream_dir, size, work)
        (convert_paraformer if family == "paraformer" else convert_nano)(src, work / "mlx")
        ours = load(work / "mlx")
        if levels:
            apply_levels(ours.model, ours.kind, parse_levels(levels, ours.kind))
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
            "levels": levels or "fp32", "device": str(mx.default_device()), "ours_median_s": round(median, 4),
            "ours_x_real_time": round(seconds * batch / median, 1),
            "ours_stages_ms": _stage_medians([o[0].timings for o in outputs]),
            "ours_peak_memory_MB": round(mx.get_peak_memory() / 2**20, 1),
        }
        if family == "nano":
            # Decode speed as the difference between N generated tokens and one, so prefill and
            # the frontend drop out; measured the same way for upstream.
            one = DecodingConfig(max_new_tokens=1, stop_tokens=config.stop_tokens)
            single, _ = _median_runs(lambda: ours.transcribe(wav, sample_rate=16000, decoding=one), warmup, repeat)
            report["ours_decode_tokens_per_s"] = _decode_rate(new_tokens, median, single, "ours")
            report["ours_generated_tokens"] = statistics.median(len(o[0].extra["steps"]) for o in outputs)
        if vs_upstream:
            # On a GPU, MLX's buffer cache would otherwise keep memory that PyTorch's allocator needs.
            mx.clear_cache()
            upstream = (_bench_upstream(src, clips, warmup, repeat, upstream_device) if family == "paraformer"
                        else _bench_upstream_nano(src, wav, warmup, repeat, new_tokens, upstream_device,
                                                  upstream_llm_dtype))
            report.update(upstream)
            report["speedup_vs_upstream"] = round(report["upstream_median_s"] / median, 2)
            if family == "nano":
                report["decode_speedup_vs_upstream"] = round(
                    report["ours_decode_tokens_per_s"] / report["upstream_decode_tokens_per_s"], 2)
        return report


def _decode_rate(new_tokens: int, median: float, single: float, side: str) -> float:
    """Tokens per second of the last `new_tokens - 1` steps, from the medians of an N-token and a
    one-token run. When decoding takes less time than the runs' jitter the difference can come out
    zero or negative; that is no speed at all, so it is refused (one line from the CLI) rather
    than reported."""
    if median <= single:
        raise WorkbenchError(f"{side}: {new_tokens} tokens took no longer than 1 ({median:.4f} s against "
                           f"{single:.4f} s); decoding is below the timing noise, raise --new-tokens or --repeat")
    return round((new_tokens - 1) / (median - single), 1)


def _upstream_report(median: float, device: str) -> dict:
    import torch

    report = {"upstream_median_s": round(median, 4), "upstream_device": device}
    if device == "cpu":
        report["upstream_torch_threads"] = torch.get_num_threads()
    else:
        report["upstream_gpu"] = torch.cuda.get_device_name(torch.device(device))
    return report


def _bench_upstream(src: Path, clips: list, warmup: int, repeat: int, device: str) -> dict:
    """Upstream Paraformer.inference; on a GPU its result is copied to the host, which synchronises."""
    import torch

    from .reference.common import load_upstream

    model, kwargs = load_upstream(str(src))
    model.to(device)
    keys = [f"clip{i}" for i in range(len(clips))]

    def run():
        with torch.no_grad():
            return model.inference(clips if len(clips) > 1 else clips[0], key=keys, tokenizer=kwargs["tokenizer"],
                                   frontend=kwargs["frontend"], device=device, batch_size=len(clips))

    median, _ = _median_runs(run, warmup, repeat)
    return _upstream_report(median, device)


def _bench_upstream_nano(src: Path, wav, warmup: int, repeat: int, new_tokens: int, device: str,
                         llm_dtype: str) -> dict:
    """Upstream FunASRNano.inference; `min_new_tokens` goes to transformers' generate so it
    produces exactly `new_tokens`, as ours does."""
    import torch

    from .reference.nano_upstream import load_nano_upstream

    model, kwargs = load_nano_upstream(str(src))
    model.to(device)
    audio = torch.from_numpy(wav.copy())
    options = {**kwargs, "device": device, "llm_dtype": llm_dtype}

    def run(n: int):
        with torch.no_grad():
            return model.inference([audio], key=["bench"], **{**options, "max_length": n,
                                                              "llm_kwargs": {"min_new_tokens": n}})

    single, _ = _median_runs(lambda: run(1), warmup, repeat)
    median, _ = _median_runs(lambda: run(new_tokens), warmup, repeat)
    return {**_upstream_report(median, device), "upstream_llm_dtype": llm_dtype,
            "upstream_decode_tokens_per_s": _decode_rate(new_tokens, median, single, "upstream")}
