"""Training data: manifest → features in memory → length-bucketed, padded batches."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import load_audio
from ..frontend import FrontendConf, WavFrontend


@dataclass
class Example:
    id: str
    text: str
    language: str
    features: np.ndarray  # [T, 560] float16 (LFR, before CMVN)
    held_out_voice: bool = False
    # Seconds where each whitespace word starts, from the synthesiser (English rows of corpora
    # built with word timings); None where the corpus has none.
    word_starts: list[float | None] | None = None


def _features(args) -> np.ndarray:
    path, conf = args
    _, feats = WavFrontend(conf)(load_audio(path))
    return feats.astype(np.float16)  # halves memory; CMVN/training precision is unaffected


def load_examples(rows: list[dict], root: Path, conf: FrontendConf, workers: int = 8) -> list[Example]:
    """Features of every manifest row (`load_manifest`); `audio` paths are relative to `root`."""
    jobs = [(root / r["audio"], conf) for r in rows]
    with ProcessPoolExecutor(workers) as pool:
        feats = list(pool.map(_features, jobs, chunksize=64))
    return [Example(r["id"], r["text"], r["language"], f, r.get("held_out_voice", False), r.get("word_starts"))
            for r, f in zip(rows, feats)]


def global_cmvn(examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    """Shift (-mean) and scale (1/std) over all training frames, as upstream's am.mvn stores them."""
    total = np.zeros(examples[0].features.shape[1])
    square = np.zeros_like(total)
    count = 0
    for ex in examples:
        f = ex.features.astype(np.float64)
        total += f.sum(0)
        square += (f**2).sum(0)
        count += len(f)
    mean = total / count
    std = np.sqrt(np.maximum(square / count - mean**2, 1e-8))
    return (-mean).astype(np.float32), (1.0 / std).astype(np.float32)


def batches(lengths: list[int], max_frames: int, rng: np.random.Generator):
    """Index lists whose padded size (batch × longest) stays under max_frames, shuffled.

    Sorting by length before cutting keeps padding small; the batch order is shuffled each epoch.
    """
    order = np.argsort(np.array(lengths) + rng.uniform(0, 3, len(lengths)))  # jitter mixes equal lengths
    out, current, longest = [], [], 0
    for i in order:
        longest_if_added = max(longest, lengths[i])
        if current and longest_if_added * (len(current) + 1) > max_frames:
            out.append(current)
            current, longest_if_added = [], lengths[i]
        current.append(int(i))
        longest = longest_if_added
    if current:
        out.append(current)
    rng.shuffle(out)
    return out

