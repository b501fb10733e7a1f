"""Matplotlib set-up shared by every figure, and writing a figure out as PNG."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import matplotlib.font_manager

matplotlib.use("Agg")  # no display: figures are rendered to images
import matplotlib.pyplot as plt

# Chinese token labels need a CJK font; the first installed one wins (scripts/app.sh installs
# WenQuanYi Micro Hei where it can), otherwise matplotlib draws empty boxes for them.
_installed = {font.name for font in matplotlib.font_manager.fontManager.ttflist}
plt.rcParams["font.family"] = ["DejaVu Sans"] + [
    name for name in ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP") if name in _installed
]

# A token in a script no installed font covers is drawn as a box; saying so on every figure
# would flood the server log (an LLM's vocabulary covers every script).
warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)


def save_png(fig, path: Path) -> str:
    """Write the figure and free it: pyplot keeps every open figure alive, so a server that
    never closed them would grow with each request."""
    try:
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return str(path)
