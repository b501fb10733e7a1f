"""The `workbench` command: convert upstream checkpoints, transcribe files, describe models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import WorkbenchError


def _cmd_convert(args) -> None:
    from .convert.paraformer import convert_paraformer

    converters = {"paraformer": convert_paraformer}
    skipped = converters[args.family](args.src, args.dst, overwrite=args.overwrite)
    if skipped:
        prefixes = sorted({".".join(k.split(".")[:2]) for k in skipped})
        print(f"skipped {len(skipped)} upstream weights not used for inference: {', '.join(prefixes)}")
    print(f"wrote {args.dst}")


def _cmd_transcribe(args) -> None:
    from . import load

    pipeline = load(args.model)
    results = []
    for path in args.files:
        result = pipeline.transcribe(path, capture=args.capture or ())
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


def _print_result(path, result) -> None:
    print(f"{path}: {result.text}")
    for tok in result.tokens:
        print(f"  {tok.start:7.2f} {tok.end:7.2f}  {tok.text:<12} logp={tok.logprob:.3f}")
    stages = ", ".join(f"{k} {v:.1f} ms" for k, v in result.timings.items())
    print(f"  audio {result.duration:.2f} s; {stages}")
    for name, value in result.captures.items():
        print(f"  captured {name}: {list(value.shape)} {value.dtype}")


def _cmd_info(args) -> None:
    from mlx.utils import tree_flatten

    import mlx.core as mx

    from . import BLAS_IN_USE, load
    from .trace import summarize_names

    pipeline = load(args.model)
    params = sum(v.size for _, v in tree_flatten(pipeline.model.parameters()))
    print(f"model: {pipeline.name} ({pipeline.kind}), {params:,} parameters")
    print(f"config: {json.dumps(pipeline.config.to_dict(), ensure_ascii=False)}")
    print(f"capture names: {summarize_names(pipeline.capture_names())}")
    print(f"device: {mx.default_device()}; CPU BLAS: {BLAS_IN_USE}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="convert an upstream FunASR model directory to MLX")
    p.add_argument("family", choices=["paraformer"])
    p.add_argument("src", help="upstream directory (model.pt, config.yaml, ...)")
    p.add_argument("dst", help="output MLX model directory")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("transcribe", help="transcribe audio files")
    p.add_argument("files", nargs="+")
    p.add_argument("--model", required=True, help="model directory or bundled model name")
    p.add_argument("--json", action="store_true", help="print JSON (captured arrays as name/shape)")
    p.add_argument("--capture", nargs="+", metavar="NAME", help="internals to capture, wildcards allowed")
    p.add_argument("--save-captures", metavar="DIR", help="write captured arrays to DIR/<file>.npz")
    p.set_defaults(func=_cmd_transcribe)

    p = sub.add_parser("info", help="describe a model")
    p.add_argument("model")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
