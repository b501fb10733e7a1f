"""Route MLX's CPU matrix products to an optimised BLAS when one is installed.

The Linux `mlx[cpu]` wheel links a reference BLAS (about 3 GFLOP/s for a 1024² sgemm on our
2-core CI machines). Loading OpenBLAS with RTLD_GLOBAL *before* `mlx.core` is imported makes
the dynamic linker resolve MLX's `cblas_sgemm` to it (about 90 GFLOP/s on the same machine).
This must run before anything imports `mlx.core`, which is why `workbench/__init__.py` imports
this module first. Set WORKBENCH_BLAS=off to keep the reference BLAS, or to a library path.
"""

from __future__ import annotations

import ctypes
import os
import sys

CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",  # Debian/Ubuntu libopenblas0-pthread
    "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/libopenblas.so.0",
)


def _load() -> str:
    if sys.platform != "linux":
        return "platform default (Accelerate on macOS)"
    choice = os.environ.get("WORKBENCH_BLAS", "")
    if choice == "off":
        return "reference BLAS (WORKBENCH_BLAS=off)"
    if "mlx.core" in sys.modules:
        return "reference BLAS (mlx.core was imported before workbench)"
    for path in (choice,) if choice else CANDIDATES:
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                return f"OpenBLAS ({path})"
            except OSError:
                continue
    return "reference BLAS (install libopenblas0-pthread for ~30x faster CPU matmuls)"


BLAS_IN_USE = _load()
