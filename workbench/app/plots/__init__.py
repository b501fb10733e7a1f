"""The app's figures, one module per subject; every figure has labelled axes and a title.

Importing the package sets up matplotlib (no display, CJK-capable fonts) once, before any
figure module draws.
"""

from . import style  # noqa: F401  (side effect: matplotlib backend and fonts)
