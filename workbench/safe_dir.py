"""Model directories read only what is inside them.

A model directory (converted, or upstream before `workbench convert`) often comes from someone
else. A link inside it that leads elsewhere (`tokens.json -> ~/.ssh/id_rsa`) would be read, and
the converter would copy the file it points at into its output; a link to `/dev/zero` or a
FIFO would never finish reading. So before anything is read, every entry is checked: links must
resolve inside the directory, and everything must be a regular file or directory. Paths named
by config files are reduced to a bare name inside the directory where they are used.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CheckpointError


def check_model_dir(root: Path) -> None:
    real_root = Path(root).resolve()
    for folder, dirs, files in os.walk(root):  # does not descend into linked directories
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                raise CheckpointError(f"{path}: links to {path.resolve()}, outside the model directory; "
                                      "copy the file in (cp -L) if you trust it")
            if not (path.is_file() or path.is_dir()):
                raise CheckpointError(f"{path}: not a regular file (a broken link, FIFO, socket or device)")


def bare_name(value: str, where: str) -> str:
    """The last component of a path from a config file, refused if it names no file."""
    name = Path(value).name
    if name in ("", ".", ".."):
        raise CheckpointError(f"{where} = {value!r} names no file inside the model directory")
    return name
