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
the surname instead of its tone does every time (0 is a model that hears the tone in every pair);
`ctc_right` and `ctc_same_for_both` the same for the greedy reading of its CTC head, where it has
one: what the encoder alone hears.
"""

from __future__ import annotations

import json

from tone_probe import arguments, run, spoken

import workbench
from workbench.corpus.sentences import focus_sentences, tone_partner
from workbench.corpus.synth import SAMPLE_RATE, Espeak
from workbench.models.ctc import CAPTURE as CTC_CAPTURE

AFTER = 200_000  # past every sentence a demo corpus has used


def main() -> None:
    args = arguments(__doc__, "pairs", 60, "minimal pairs")
    espeak = Espeak.locate()
    pairs = [[(t, spoken(t, i, espeak, args.range, args.voices)) for t in (text, tone_partner(text))]
             for i, text in enumerate(focus_sentences("tone-pair", args.count, AFTER, seed=0))]
    for path in args.models:
        pipeline = workbench.load(path)
        # A model with a CTC head also says what its encoder alone hears (`ctc_right`): whether a
        # miss is the encoder's or the decoder's.
        readers = {"": lambda result: result.text}
        capture = []
        if pipeline.ctc_head is not None:
            capture = [CTC_CAPTURE]
            readers["ctc_"] = lambda result: pipeline.ctc_reading(result.captures[CTC_CAPTURE])
        right, same = dict.fromkeys(readers, 0), dict.fromkeys(readers, 0)
        for pair in pairs:
            results = [pipeline.transcribe(audio, sample_rate=SAMPLE_RATE, capture=capture) for _, audio in pair]
            for key, read in readers.items():
                firsts = [read(result)[:1] for result in results]
                right[key] += sum(first == text[0] for first, (text, _) in zip(firsts, pair))
                same[key] += firsts[0] == firsts[1]
        report = {"model": path, "pairs": len(pairs), "range": args.range or "default",
                  "voices": [voice.name for voice in args.voices] if args.voices else "all"}
        for key in readers:
            report[f"{key}right"] = round(right[key] / (2 * len(pairs)), 3)
            report[f"{key}same_for_both"] = round(same[key] / len(pairs), 3)
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    run(main)
