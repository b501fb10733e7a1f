"""Attention maps: encoder self-attention (frames × frames), Paraformer's decoder cross-attention
(tokens × frames), and Fun-ASR-Nano's generated tokens over the audio positions of the prompt."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

MAX_TICK_LABELS = 40  # beyond this, token labels would overlap: every n-th one is shown


def _token_rows_height(n: int) -> float:
    """Figure height for n token rows: readable labels, but never taller than a screen."""
    return min(10.0, max(3.0, 0.25 * n + 1.5))


def _heatmap(fig, ax, matrix: np.ndarray, x_step: float, y_labels: list[str] | None, y_step: float = 1.0):
    """imshow with x in seconds (x_step per column) and rows either in seconds or named by token."""
    rows, cols = matrix.shape
    extent = [0, cols * x_step, rows * y_step, 0]  # first query at the top, like a table
    image = ax.imshow(matrix, aspect="auto", extent=extent, cmap="viridis", interpolation="nearest")
    if y_labels is not None:
        every = max(1, -(-len(y_labels) // MAX_TICK_LABELS))
        ticks = np.arange(0, rows, every)
        ax.set_yticks(ticks + 0.5, [y_labels[i] for i in ticks], fontsize=8)
    fig.colorbar(image, ax=ax, label="attention probability", fraction=0.05)


def self_attention_figure(attn: np.ndarray, frame_seconds: float, title: str):
    """[T, T]: each row is a frame attending to every frame of the clip."""
    fig, ax = plt.subplots(figsize=(6.5, 5.5), constrained_layout=True)
    _heatmap(fig, ax, attn, frame_seconds, None, y_step=frame_seconds)
    ax.set_xlabel("key frame: attended to (s)")
    ax.set_ylabel("query frame: attending (s)")
    ax.set_title(title)
    return fig


def cross_attention_figure(attn: np.ndarray, tokens: list[str], frame_seconds: float, title: str,
                           fires: np.ndarray | None = None):
    """[N, T]: each output token's attention over the encoder frames, with the frame where CIF
    fired the token marked, so alignment and CIF timing can be compared at a glance."""
    fig, ax = plt.subplots(figsize=(10, _token_rows_height(len(tokens))), constrained_layout=True)
    _heatmap(fig, ax, attn, frame_seconds, tokens)
    if fires is not None and len(fires):
        last = attn.shape[1] - 1
        ax.scatter((np.minimum(fires[: len(tokens)], last) + 0.5) * frame_seconds, np.arange(len(tokens)) + 0.5,
                   marker="x", color="red", s=20, label="CIF fire frame")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("encoder frame (s)")
    ax.set_ylabel("output token")
    ax.set_title(title)
    return fig


def llm_attention_figure(rows: np.ndarray, tokens: list[str], prompt: tuple[int, int, int], position_seconds: float,
                         title: str):
    """rows [steps, positions]: for each generated token, where the position that produced it
    looked. `prompt` is (text before the audio, audio positions, text after it). Left: the audio
    positions only; right: the share of attention on the text prompt, the audio and the text
    generated so far."""
    prefix, n_audio, suffix = prompt
    audio = slice(prefix, prefix + n_audio)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, _token_rows_height(len(tokens))), sharey=True,
                                      gridspec_kw={"width_ratios": [4, 1]}, constrained_layout=True)
    _heatmap(fig, left, rows[:, audio], position_seconds, tokens)
    left.set_xlabel("audio position (start of the audio it encodes, s)")
    left.set_ylabel("generated token")
    left.set_title(title)
    text_prompt = rows[:, :prefix].sum(1) + rows[:, audio.stop : audio.stop + suffix].sum(1)
    shares = {"text prompt": text_prompt, "audio": rows[:, audio].sum(1),
              "generated so far": rows[:, audio.stop + suffix :].sum(1)}
    y = np.arange(len(tokens)) + 0.5
    offset = np.zeros(len(tokens))
    for (name, share), color in zip(shares.items(), ("tab:grey", "tab:blue", "tab:orange")):
        right.barh(y, share, left=offset, height=0.8, color=color, label=name)
        offset += share
    right.set_xlim(0, 1)
    right.set_xlabel("share of attention")
    right.set_title("Where it looked")
    right.legend(loc="lower right", fontsize=8)
    return fig
