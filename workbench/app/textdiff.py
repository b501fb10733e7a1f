"""Where two transcripts differ, as spans for gr.HighlightedText.

Text is compared unit by unit: a run of Latin letters or digits is one unit (an English word),
every other character is its own (a Chinese character), so mixed text diffs sensibly. Case is
ignored, as the error rates ignore it.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

UNIT = re.compile(r"[A-Za-z0-9']+|\s+|.")
COLOURS = {"extra": "#f4a261", "missing": "#e76f51"}


def diff_spans(base: str, text: str) -> list[tuple[str, str | None]]:
    """`text` against `base`: shared units unlabelled, units only `text` has as "extra", units
    only `base` has as "missing" (shown where they would be)."""
    a, b = UNIT.findall(base), UNIT.findall(text)
    matcher = SequenceMatcher(None, [u.lower() for u in a], [u.lower() for u in b], autojunk=False)
    spans = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            spans.append(("".join(b[j1:j2]), None))
            continue
        if i2 > i1:
            spans.append(("".join(a[i1:i2]), "missing"))
        if j2 > j1:
            spans.append(("".join(b[j1:j2]), "extra"))
    return spans
