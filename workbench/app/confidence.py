"""The transcript as tokens coloured by the model's confidence, each with its time span.

HTML rather than gr.HighlightedText: a token needs its start time under it and its details on
hover, which a highlighted span cannot carry.
"""

from __future__ import annotations

import html
import math

from ..result import Token

STYLE = ("display:inline-block;margin:2px;padding:2px 4px;border-radius:4px;text-align:center;"
         "white-space:pre;color:#111;background:{colour}")


def colour(probability: float) -> str:
    """Red (0) through yellow to green (1)."""
    return f"hsl({120 * probability:.0f}, 75%, 80%)"


def token_html(token: Token) -> str:
    p = math.exp(token.logprob)
    timed = token.start is not None
    hover = f"p = {p:.3f}, log-prob {token.logprob:.3f}" + (f", {token.start:.2f}–{token.end:.2f} s" if timed else "")
    time = f"<br><small>{token.start:.2f}s</small>" if timed else ""
    return (f'<span class="wb-token" style="{STYLE.format(colour=colour(p))}" title="{html.escape(hover)}">'
            f"{html.escape(token.text)}{time}</span>")


def confidence_html(tokens: list[Token]) -> str:
    if not tokens:
        return "<p>No tokens.</p>"
    legend = " ".join(f'<span style="{STYLE.format(colour=colour(p))}">p = {p:g}</span>' for p in (0.2, 0.5, 0.8, 1))
    return (f'<div class="wb-confidence">{"".join(token_html(t) for t in tokens)}</div>'
            f"<p><small>Colour: the model's probability of each token ({legend}); the number under a token is "
            "its start time, when the model gives one. Hover a token for details.</small></p>")
