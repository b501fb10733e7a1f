"""FunASR Workbench: run, inspect and compare FunASR speech recognition models on MLX."""

from ._blas import BLAS_IN_USE  # must precede every import of mlx.core
from .errors import AudioError, CaptureError, CheckpointError, WorkbenchError
from .loading import load

__version__ = "0.1.0"
__all__ = ["load", "WorkbenchError", "AudioError", "CheckpointError", "CaptureError", "__version__", "BLAS_IN_USE"]
