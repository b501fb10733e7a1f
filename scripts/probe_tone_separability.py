"""How well the fbank features of a sentence's first syllable tell two surnames apart that differ
only in tone, as the corpus speaks them with and without `--zh-pitch-range`. Prints one JSON line.

    .venv/bin/python scripts/probe_tone_separability.py [--per-name 200] [--range x-high]

For each pair (何 hé / 贺 hè, 黎 lí / 李 lǐ), name-first sentences of the corpus stream get one
surname or the other and are spoken by the training voices at the corpus's seeded rates and
pitches (no augmentation). The 80 log-mel bands of the first syllable's span (0.1-0.4 s, after
the 0.1 s of leading silence), normalised per utterance and averaged over its three thirds, feed
a ridge classifier; the figure is its 5-fold cross-validated accuracy (0.5 is chance). A linear
probe is a floor, not what a trained encoder reaches: it compares the two renderings.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from workbench.corpus.sentences import focus_sentences
from workbench.corpus.synth import PITCH_RANGES, Espeak, pick_voice, synthesize
from workbench.frontend import FrontendConf, kaldi_fbank

PAIRS = (("何", "贺"), ("黎", "李"))


def first_syllable(audio: np.ndarray) -> np.ndarray:
    feats = kaldi_fbank(audio, FrontendConf())[10:40]  # frames of 10 ms: 0.1-0.4 s
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-5)
    return np.concatenate([part.mean(0) for part in np.array_split(feats, 3)])


def cv_accuracy(x: np.ndarray, y: np.ndarray, folds: int = 5) -> float:
    """The best 5-fold accuracy of a ridge classifier over a few regularisation strengths."""
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order] * 2.0 - 1.0
    best = 0.0
    for lam in (0.1, 1.0, 10.0, 100.0):
        right = 0
        for k in range(folds):
            test = np.arange(len(y)) % folds == k
            xt, yt = x[~test], y[~test]
            mu = xt.mean(0)
            w = np.linalg.solve((xt - mu).T @ (xt - mu) + lam * np.eye(x.shape[1]), (xt - mu).T @ yt)
            right += int(np.sum(np.sign((x[test] - mu) @ w) == y[test]))
        best = max(best, right / len(y))
    return round(best, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-name", type=int, default=200)
    parser.add_argument("--range", default="x-high", choices=PITCH_RANGES)
    args = parser.parse_args()
    espeak = Espeak.locate()
    # Past the demos' training sentences; only their shape matters here.
    sentences = focus_sentences("name-first", args.per_name, 200_000, seed=0)
    result = {}
    for pair in PAIRS:
        for pitch_range in (None, args.range):
            x, y = [], []
            for label, surname in enumerate(pair):
                for i, text in enumerate(sentences):
                    seed = 1_000_003 * label + i  # another voice, rate and pitch for each
                    utt = synthesize(surname + text[1:], "zh", seed, espeak, voice=pick_voice("zh", seed),
                                     augment=False, pitch_range=pitch_range)
                    x.append(first_syllable(utt.audio))
                    y.append(label)
            result[f"{'/'.join(pair)} {pitch_range or 'default'}"] = cv_accuracy(np.array(x), np.array(y))
    print(json.dumps({"per_name": args.per_name, "accuracy": result}, ensure_ascii=False))


if __name__ == "__main__":
    main()
