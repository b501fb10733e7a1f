"""The bundled `sample_audio/` clips and their `refs.tsv`, made from held-out test sentences.

`python -m workbench.corpus.samples sample_audio` regenerates them bit for bit: Mandarin,
English and code-switched speech from the training voices, a noisy clip, one voice never seen in
training per language, and one clip over 30 s (several sentences with pauses), so the long-audio
path has something to chew on. Sentences come from the corpus test split, never from training.
`--zh-pitch-range RANGE` speaks the Mandarin clips as a corpus built with that option does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from .sentences import is_code_switched, split_sentences
from .synth import HELD_OUT_VOICES, PITCH_RANGES, SAMPLE_RATE, Espeak, coloured_noise, synthesize, voice_by_name

SEED = 0
N_TRAIN, N_TEST = 24000, 600  # the corpus sizes of the demo models' training run


def _test_sentences(language: str) -> list[str]:
    return split_sentences(language, N_TRAIN, N_TEST, SEED)[1]


def clips() -> list[dict]:
    """What to say in each clip: name, language, text(s), voice, extra noise SNR."""
    zh, en = _test_sentences("zh"), _test_sentences("en")
    plain_zh = [s for s in zh if not is_code_switched(s)]
    mixed = [s for s in zh if is_code_switched(s)]
    return [
        {"name": "zh_1", "language": "zh", "texts": plain_zh[0:1], "voice": "cmn+m1"},
        {"name": "zh_2", "language": "zh", "texts": plain_zh[1:2], "voice": "cmn+f2"},
        {"name": "zh_3", "language": "zh", "texts": plain_zh[2:3], "voice": "cmn+m3"},
        {"name": "en_1", "language": "en", "texts": en[0:1], "voice": "en-us+m1"},
        {"name": "en_2", "language": "en", "texts": en[1:2], "voice": "en-gb+f2"},
        {"name": "mixed_1", "language": "zh", "texts": mixed[0:1], "voice": "cmn+m2"},
        {"name": "noisy_zh", "language": "zh", "texts": plain_zh[3:4], "voice": "cmn+m4", "snr_db": 5.0},
        {"name": "unseen_voice_zh", "language": "zh", "texts": plain_zh[4:5], "voice": HELD_OUT_VOICES["zh"].name},
        {"name": "unseen_voice_en", "language": "en", "texts": en[2:3], "voice": HELD_OUT_VOICES["en"].name},
        {"name": "long_zh", "language": "zh", "texts": plain_zh[5:15], "voice": "cmn+f1"},
    ]


def render(spec: dict, espeak: Espeak, index: int, zh_pitch_range: str | None = None) -> np.ndarray:
    rng = np.random.default_rng(1000 + index)
    voice = voice_by_name(spec["voice"])
    pause = np.zeros(int(0.6 * SAMPLE_RATE), np.float32)
    parts = []
    for k, text in enumerate(spec["texts"]):
        utt = synthesize(text, spec["language"], 10_000 * index + k, espeak, voice=voice, augment=False,
                         pitch_range=zh_pitch_range if spec["language"] == "zh" else None)
        parts += [utt.audio, pause]
    audio = np.concatenate(parts[:-1])
    if "snr_db" in spec:
        noise = coloured_noise(len(audio), "pink", rng)
        scale = np.sqrt(np.mean(audio**2) / np.mean(noise**2)) * 10 ** (-spec["snr_db"] / 20)
        audio = audio + scale * noise
    return (0.5 * audio / max(np.abs(audio).max(), 1e-9)).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--zh-pitch-range", choices=PITCH_RANGES,
                        help="the Mandarin clips in espeak's SSML pitch range (as a corpus built with it)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    espeak = Espeak.locate()
    lines = ["file\tlanguage\ttext"]
    for index, spec in enumerate(clips()):
        name = f"{spec['name']}.flac"
        sf.write(args.out / name, render(spec, espeak, index, args.zh_pitch_range), SAMPLE_RATE, subtype="PCM_16")
        lines.append(f"{name}\t{spec['language']}\t{' '.join(spec['texts'])}")
    (args.out / "refs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines) - 1} clips to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
