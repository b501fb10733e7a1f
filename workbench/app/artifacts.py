"""What one request leaves in its session: the data to download and the figures drawn from it.

Figures are written as PNG once, when drawn, and the same files are both shown and offered for
download. Each run has its own folder, removed when gradio drops the session's state, or, for a
run that a newer one replaced in its session (gradio never hands those back), once it is older
than a session can be.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np

from .plots.style import save_png

SESSION_SECONDS = 3600  # a session's runs are dropped an hour after its last one


class Run:
    def __init__(self, payload: dict, arrays: dict[str, np.ndarray] | None = None):
        _prune()
        self.folder = Path(tempfile.mkdtemp(prefix="run-", dir=_root()))
        self.payload = payload  # JSON-ready description of the run
        self.arrays = arrays or {}  # captured internals, by capture name
        self.figures: dict[str, str] = {}  # plot slot → PNG path of what it shows now

    def draw(self, slot: str, fig, detail: str = "") -> str:
        """Save a figure for a plot slot; a new name per drawing, so an earlier image that a
        browser still shows is not overwritten under it."""
        name = "-".join(part for part in (slot, detail) if part)
        path = save_png(fig, self.folder / f"{_safe(name)}.png")
        self.figures[slot] = path
        return path

    def export(self) -> list[str]:
        """The run as files: JSON, the captured arrays as NPZ, and every figure shown."""
        files = [self.folder / "run.json"]
        files[0].write_text(json.dumps(self.payload, ensure_ascii=False, indent=1, default=_plain))
        if self.arrays:
            files.append(self.folder / "captures.npz")
            np.savez(files[-1], **self.arrays)
        return [str(f) for f in files] + list(self.figures.values())

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@functools.cache
def _root() -> Path:
    """This process's folder of runs, under the system temp directory (which gradio serves
    files from without extra configuration); removed when the process exits."""
    root = Path(tempfile.mkdtemp(prefix="funasr-workbench-app-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def _prune() -> None:
    cutoff = time.time() - SESSION_SECONDS
    for folder in _root().iterdir():
        try:
            stale = folder.stat().st_mtime < cutoff
        except FileNotFoundError:  # another request pruned it first
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)


def discard(run: Run | None) -> None:
    """gr.State's delete callback (the state may never have been set)."""
    if run is not None:
        run.discard()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _plain(value):
    """numpy scalars and arrays in a payload, as JSON numbers and lists."""
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else str(value)


def plot_slot(label: str, elem_id: str | None = None) -> gr.Image:
    """Where a figure's PNG is shown. The label names it for API clients and screen readers; it is
    not drawn, since it would sit over the figure's own title."""
    return gr.Image(type="filepath", label=label, show_label=False, elem_id=elem_id, elem_classes="wb-plot")


def run_state() -> gr.State:
    return gr.State(None, time_to_live=SESSION_SECONDS, delete_callback=discard)


def downloads(state: gr.State, api_name: str) -> None:
    """A button that turns the tab's last run into files, and the list to fetch them from."""
    button = gr.Button("Prepare downloads")
    files = gr.File(label="Downloads: the run as JSON, captured arrays as NPZ, plots as PNG", file_count="multiple",
                    interactive=False, elem_id=api_name)
    button.click(export, state, files, api_name=api_name)


def export(run: Run | None) -> list[str]:
    if run is None:
        raise gr.Error("Nothing to download yet: run this tab first.")
    return run.export()
