"""Training data: manifest → features in memory → length-bucketed, padded batches."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import at_speed, load_audio
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
    path, conf, speed = args
    wave = load_audio(path)
    if speed != 1.0:
        # Upstream's speed perturbation. Both demos misread the unseen voice played 5 % faster or
        # slower (nano-demo wrote another sentence at 0.85), a change the corpus's own rate and
        # pitch settings, moving no formant, never show them.
        wave = at_speed(wave, speed)
    _, feats = WavFrontend(conf)(wave)
    return feats.astype(np.float16)  # halves memory; CMVN/training precision is unaffected


def load_examples(rows: list[dict], root: Path, conf: FrontendConf, workers: int = 8,
                  speeds: list[float] | None = None, seed: int = 0) -> list[Example]:
    """Features of every manifest row (`load_manifest`); `audio` paths are relative to `root`.

    With `speeds`, each row is heard at one of them, drawn by `seed` (upstream draws one per row
    and epoch; a run here sees its corpus about once), its word times scaled to match.
    """
    drawn = np.random.default_rng(seed).choice(speeds, len(rows)) if speeds else np.ones(len(rows))
    jobs = [(root / r["audio"], conf, float(speed)) for r, speed in zip(rows, drawn)]
    with ProcessPoolExecutor(workers) as pool:
        feats = list(pool.map(_features, jobs, chunksize=64))
    return [Example(r["id"], r["text"], r["language"], f, r.get("held_out_voice", False),
                    _scaled(r.get("word_starts"), speed))
            for r, f, speed in zip(rows, feats, drawn)]


def _scaled(word_starts: list[float | None] | None, speed: float) -> list[float | None] | None:
    if word_starts is None or speed == 1.0:
        return word_starts
    return [None if t is None else t / speed for t in word_starts]


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

