"""Exception types the workbench raises for bad input.

Every error a user can trigger with their own files (audio, checkpoints, configs) is one of these,
so the CLI and the app can print a single clear line instead of a traceback.
"""


class WorkbenchError(Exception):
    """Base class: a problem with the user's input, reported as one line."""


class AudioError(WorkbenchError):
    """Audio that cannot be read or is unusable (empty, too short, non-finite, not audio)."""


class CheckpointError(WorkbenchError):
    """A model file or directory that is missing, malformed, hostile or does not match the architecture."""


class CaptureError(WorkbenchError):
    """A capture request that names no internal of the model."""
