"""The page: shared inputs (model, audio, decoding) above four tabs.

Models load once and are shared by all sessions; each runs one forward pass at a time (the
pipeline's lock) while the queue bounds how many requests run at once. A user's bad input comes
back as a message in that user's UI, never as a crash of the server.
"""

from __future__ import annotations

import gradio as gr

from .artifacts import SESSION_SECONDS
from .sources import SourceControls
from .tab_compare import compare_tab
from .tab_internals import internals_tab
from .tab_learn import learn_tab
from .tab_transcribe import transcribe_tab


def build_app() -> gr.Blocks:
    # Files handed to browsers (plots, downloads) leave gradio's cache after a session's lifetime.
    with gr.Blocks(title="FunASR Workbench", delete_cache=(SESSION_SECONDS, SESSION_SECONDS)) as app:
        gr.Markdown("# FunASR Workbench\nTranscribe a clip, look inside the model, compare set-ups, and see "
                    "the architecture it runs through.")
        source = SourceControls()
        with gr.Tabs():
            with gr.Tab("Transcribe", elem_id="tab-transcribe"):
                transcribe_tab(source)
            with gr.Tab("Internals", elem_id="tab-internals"):
                internals_tab(source)
            with gr.Tab("Compare", elem_id="tab-compare"):
                compare_tab(source)
            with gr.Tab("Learn", elem_id="tab-learn"):
                learn_tab(source)
    return app
