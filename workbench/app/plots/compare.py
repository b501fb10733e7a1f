"""Set-ups side by side: latency, memory and error rate of the same clip through each."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def compare_figure(labels: list[str], latency_ms: list[float], weights_mb: list[float], run_mb: list[float],
                   error_rates: list[float | None]):
    """Panels sharing the set-up axis; the error panel is left out when there is no reference."""
    panels = [("latency (ms)", "Transcription time", {"total": latency_ms}),
              ("memory (MB)", "Weights, and memory a run adds", {"weights": weights_mb, "run": run_mb})]
    if any(e is not None for e in error_rates):
        panels.append(("error rate", "Against the reference",
                       {"CER/WER": [np.nan if e is None else e for e in error_rates]}))
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.5), constrained_layout=True)
    x = np.arange(len(labels))
    for ax, (ylabel, title, series) in zip(axes, panels):
        width = 0.8 / len(series)
        for k, (name, values) in enumerate(series.items()):
            ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width=width, label=name)
        if len(series) > 1:
            ax.legend(fontsize=8)
        top = np.nanmax([np.nanmax(np.asarray(v, dtype=float)) for v in series.values()])
        ax.set_ylim(0, top * 1.15 if top > 0 else 1)  # an all-zero panel (no errors) still has a scale
        ax.set_xticks(x, labels)
        ax.set_xlabel("set-up")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    return fig
