"""What the model hears and how Paraformer counts tokens: waveform/fbank and CIF integrate-and-fire."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

SAMPLE_RATE = 16000
FRAME_SHIFT_S = 0.01


def features_figure(waveform: np.ndarray, fbank: np.ndarray):
    """Waveform over time, and the log-mel filterbank the model starts from."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 4.5), sharex=True, constrained_layout=True)
    t = np.arange(len(waveform)) / SAMPLE_RATE
    top.plot(t, waveform, linewidth=0.5)
    top.set_ylabel("amplitude")
    top.set_title("Waveform (16 kHz mono)")
    extent = [0, len(fbank) * FRAME_SHIFT_S, 0, fbank.shape[1]]
    image = bottom.imshow(fbank.T, origin="lower", aspect="auto", extent=extent, cmap="magma")
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("mel bin")
    bottom.set_title("Log-mel filterbank (80 bins, 10 ms hop)")
    fig.colorbar(image, ax=bottom, label="log energy")
    return fig


def cif_figure(alphas: np.ndarray, fires: np.ndarray, tokens: list[str], frame_seconds: float):
    """CIF weights per frame, their running sum crossing each integer (a token fires), and the
    tokens placed at the frames where they fired."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 4.5), sharex=True, constrained_layout=True)
    t = np.arange(len(alphas)) * frame_seconds
    top.bar(t, alphas, width=frame_seconds * 0.9, align="edge", color="tab:blue")
    top.set_ylabel("alpha")
    top.set_title(f"CIF weight of each {frame_seconds * 1000:.0f} ms frame")
    running = np.cumsum(alphas)
    bottom.plot(t + frame_seconds, running, color="tab:orange", label="running sum of alphas")
    for k in range(1, int(running[-1]) + 1 if len(running) else 1):
        bottom.axhline(k, color="grey", linewidth=0.3)
    for k, (frame, token) in enumerate(zip(fires, tokens)):
        x = (min(int(frame), len(alphas) - 1) + 1) * frame_seconds
        bottom.axvline(x, color="tab:red", linewidth=0.6)
        bottom.annotate(token, (x, k + 1), fontsize=9, ha="center", va="bottom")
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("tokens integrated")
    bottom.set_title("Integrate and fire: a token fires each time the sum crosses the threshold 1")
    bottom.legend(loc="upper left")
    return fig
