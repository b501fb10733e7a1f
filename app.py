"""Start the FunASR Workbench app on the bundled demo models: `python app.py` (see README)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

from workbench.app.running import MAX_UPLOAD
from workbench.app.ui import build_app

if __name__ == "__main__":
    # At most two requests run at once; the rest wait in the queue with their position shown.
    build_app().queue(default_concurrency_limit=2).launch(max_file_size=MAX_UPLOAD)
