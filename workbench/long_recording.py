"""A long recording made of the sample clips, for checking segmentation against known clip spans.

`tests/test_segment.py` transcribes it with every demo set-up, `scripts/measure_long_audio.py`
measures it with other gap seeds, and `scripts/bench_vad.py` times the speech detectors on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE, load_audio

SAMPLES = Path(__file__).resolve().parents[1] / "sample_audio"
# Every short sample clip in turn: Mandarin, English, code-switched and the held-out voices. The
# noisy clip is left out: pasted between digital-silence gaps its 5 dB noise starts and stops
# abruptly, which no real recording does (and which a demo trained on noise that runs through a
# whole utterance mishears). It and the 43 s long_zh.flac are tested on their own
# (tests/test_demo_models.py).
CLIPS = ("zh_1.flac", "en_1.flac", "zh_2.flac", "en_2.flac", "zh_3.flac", "mixed_1.flac", "unseen_voice_zh.flac",
         "unseen_voice_en.flac")


def long_recording(seconds: float = 600, seed: int = 0, gap_s: tuple[float, float] = (0.8, 2.0),
                   clips: tuple[str, ...] = CLIPS) -> tuple[np.ndarray, list[str], list[tuple[float, float]]]:
    """(audio, clip names, clip spans in seconds): `clips` in turn, each followed by digital
    silence of a length drawn uniformly from `gap_s` (seeded), until `seconds` are filled."""
    rng = np.random.default_rng(seed)
    waveforms = {name: load_audio(SAMPLES / name) for name in clips}
    audio, names, spans, at = [], [], [], 0
    while at < seconds * SAMPLE_RATE:
        name = clips[len(names) % len(clips)]
        clip, gap = waveforms[name], np.zeros(int(rng.uniform(*gap_s) * SAMPLE_RATE), np.float32)
        audio += [clip, gap]
        names.append(name)
        spans.append((at / SAMPLE_RATE, (at + len(clip)) / SAMPLE_RATE))
        at += len(clip) + len(gap)
    return np.concatenate(audio), names, spans
