"""Every notebook runs top to bottom on CPU, offline; any error fails the test."""

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
# Programs a notebook runs besides Python (skipped, as the other tests that need them, where missing).
NEEDS = {"07_training_a_tiny_model.ipynb": "espeak-ng"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path):
    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "commit without outputs"
    program = NEEDS.get(path.name)
    if program and shutil.which(program) is None:
        pytest.skip(f"{program} not installed")
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
