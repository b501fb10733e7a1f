"""Whether a model hears the tone of a sentence's first syllable: it transcribes minimal pairs, two
sentences that differ only in an opening surname with a tone-only partner (何 hé / 贺 hè, 李 lǐ /
黎 lí, ...: `sentences.TONE_PARTNERS`), spoken alike. Prints one JSON line per model.

    .venv/bin/python scripts/probe_surname_tone.py MODEL [MODEL ...] [--pairs 60] [--range x-high] \
        [--voices cmn+m3]

The sentences come from the corpus stream far past the demos' training and test sentences
(`--focus tone-pair`'s kind); each pair is spoken by one training voice (of `--voices` if given)
at its seeded rate and pitch, without augmentation, as the sample clips are. `right` is the share
of the sentences whose first character the model writes correctly; `same_for_both` the share of
pairs it writes with one surname for both sentences, which a model that goes by the words after
the surname instead of its tone does every time (0 is a model that hears the tone in every pair).
"""

from __future__ import annotations

import json

from tone_probe import arguments, run, spoken

import workbench
from workbench.corpus.sentences import focus_sentences, tone_partner
from workbench.corpus.synth import SAMPLE_RATE, Espeak

AFTER = 200_000  # past every sentence a demo corpus has used


def main() -> None:
    args = arguments(__doc__, "pairs", 60, "minimal pairs")
    espeak = Espeak.locate()
    pairs = [[(t, spoken(t, i, espeak, args.range, args.voices)) for t in (text, tone_partner(text))]
             for i, text in enumerate(focus_sentences("tone-pair", args.count, AFTER, seed=0))]
    for path in args.models:
        pipeline = workbench.load(path)
        right = same = 0
        for pair in pairs:
            firsts = [pipeline.transcribe(audio, sample_rate=SAMPLE_RATE).text[:1] for _, audio in pair]
            right += sum(first == text[0] for first, (text, _) in zip(firsts, pair))
            same += firsts[0] == firsts[1]
        print(json.dumps({"model": path, "pairs": len(pairs), "range": args.range or "default",
                          "voices": [voice.name for voice in args.voices] if args.voices else "all",
                          "right": round(right / (2 * len(pairs)), 3),
                          "same_for_both": round(same / len(pairs), 3)}), flush=True)


if __name__ == "__main__":
    run(main)
