"""Whether a model hears Mandarin tones: it transcribes tone drills (`workbench/corpus/tone_drill.py`,
random syllables whose tones alone tell their characters) and counts, of the syllables it heard
right, those whose tone it wrote right too. Prints one JSON line per model.

    .venv/bin/python scripts/probe_tone_drill.py MODEL [MODEL ...] [--drills 50] [--range x-high] \
        [--voices cmn+m3]

The drills are seeded apart from any corpus's (`drills(seed=1)`); each is spoken by a training
voice (one of `--voices` if given) without augmentation, as the sample clips are. Each written
character is aligned to the drill by `evaluate.edits`:
- `syllable_right`: the share of the drills' syllables written with a character of that syllable;
- `tone_right`: of those, the share written with a character of the right tone as well;
- `chance`: what `tone_right` is for a model that picks one of each syllable's drill tones at
  random (a model that hears no tone);
- `confusions`: [spoken tone, written tone, count] for the syllables heard right, in espeak-ng's
  Chao digits (55 tone 1, 35 tone 2, 214 tone 3, 51 tone 4, 11 neutral).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter

from tone_probe import arguments, run, spoken

import workbench
from workbench.corpus.synth import SAMPLE_RATE, Espeak
from workbench.corpus.tone_drill import drill_classes, drills, zh_tones
from workbench.evaluate import edits

SEED = 1  # corpora use their own seed (0 for the demos'), at their own stream position


def main() -> None:
    args = arguments(__doc__, "drills", 50, "drills")
    espeak = Espeak.locate()
    texts = list(itertools.islice(drills(SEED), args.count))
    audio = [spoken(t, i, espeak, args.range, args.voices) for i, t in enumerate(texts)]
    tones = zh_tones()
    tones_of = Counter(tones[char][0] for char, _ in drill_classes())
    chance = sum(1 / tones_of[tones[c][0]] for t in texts for c in t) / sum(map(len, texts))
    for path in args.models:
        pipeline = workbench.load(path)
        confusions: Counter[tuple[str, str]] = Counter()
        syllables = 0
        for text, wave in zip(texts, audio):
            written = pipeline.transcribe(wave, sample_rate=SAMPLE_RATE).text
            syllables += len(text)
            wrong = {i: hyp for i, ref, hyp in edits(list(text), list(written)) if ref}
            for i, char in enumerate(text):
                heard = wrong.get(i, char)
                if heard in tones and tones[heard][0] == tones[char][0]:  # the syllable heard right
                    confusions[tones[char][1], tones[heard][1]] += 1
        right_syllable = confusions.total()
        print(json.dumps({"model": path, "drills": len(texts), "range": args.range or "default",
                          "voices": [voice.name for voice in args.voices] if args.voices else "all",
                          "syllable_right": round(right_syllable / syllables, 3),
                          "tone_right": round(sum(n for (a, b), n in confusions.items() if a == b)
                                              / max(right_syllable, 1), 3),
                          "chance": round(chance, 3),
                          "confusions": [[a, b, n] for (a, b), n in sorted(confusions.items())]}), flush=True)


if __name__ == "__main__":
    run(main)
