"""Fun-ASR-Nano's decoding, step by step: how sure the model was of each token, and of the rest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .attention import MAX_TICK_LABELS


def steps_figure(steps: list[dict], tokens: list[str]):
    """Per generated token: its probability beside the top alternatives' (model distribution,
    temperature 1), and the entropy of that distribution. The last step is the stop token."""
    n = len(steps)
    x = np.arange(n)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5), sharex=True, constrained_layout=True)
    top.bar(x, [np.exp(s["logprob"]) for s in steps], color="tab:blue", label="chosen token")
    alternatives = [(i, p) for i, s in enumerate(steps) for _, p in s["top"]]
    if alternatives:
        ax, ay = zip(*alternatives)
        top.scatter(ax, ay, color="black", s=10, zorder=3, label="top candidates")
    top.set_ylim(0, 1.05)
    top.set_ylabel("probability")
    top.set_title("Probability of each generated token and of its top candidates")
    top.legend(loc="lower right", fontsize=8)
    bottom.plot(x, [s["entropy"] for s in steps], marker="o", color="tab:purple")
    bottom.set_ylabel("entropy (nats)")
    bottom.set_xlabel("generated token (step)")
    bottom.set_title("Uncertainty of the next-token distribution")
    every = max(1, -(-n // MAX_TICK_LABELS))
    bottom.set_xticks(x[::every], [tokens[i] for i in x[::every]], rotation=90, fontsize=8)
    return fig
