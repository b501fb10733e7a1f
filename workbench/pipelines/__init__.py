"""Audio in, `Transcription` out: each pipeline wires a frontend, a model and its text side."""
