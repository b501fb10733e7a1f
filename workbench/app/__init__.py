"""The Gradio app: transcribe and look inside (`app.py` at the repository root starts it)."""
