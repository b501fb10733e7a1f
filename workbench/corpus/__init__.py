"""Synthetic speech corpora for training small demo ASR models: seeded Mandarin/English sentences
(`sentences`), espeak-ng synthesis with augmentation (`synth`), and a FLAC + JSONL corpus builder
(`build`, also `python -m workbench.corpus.build`)."""
