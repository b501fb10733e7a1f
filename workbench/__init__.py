"""FunASR Workbench: run, inspect and compare FunASR speech recognition models on MLX."""

from ._blas import BLAS_IN_USE  # must precede every import of mlx.core
from .errors import AudioError, CaptureError, CheckpointError, WorkbenchError


def __getattr__(name):
    # `load` pulls in MLX and every model; importing it lazily keeps `import workbench` (and
    # tools that need no model, like the corpus builder) light.
    if name == "load":
        from .loading import load

        return load
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")

__version__ = "0.1.0"
__all__ = ["load", "WorkbenchError", "AudioError", "CheckpointError", "CaptureError", "__version__", "BLAS_IN_USE"]
