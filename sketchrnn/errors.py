"""The errors sketchrnn knows how to explain.

Every error a user can cause (bad file, unknown name, invalid value) is a ``SketchRNNError``.
The CLI's single error boundary prints ``str(error)`` on one line and exits with code 1, so a
message must name the thing, the bad value and the fix.
"""

from __future__ import annotations


class SketchRNNError(Exception):
    """A problem the user can fix. ``fix`` says how; it is appended to the message."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"{message} ({fix})" if fix else message)


class ConfigError(SketchRNNError):
    """Invalid configuration values (all problems are collected into one message)."""


class DataError(SketchRNNError):
    """Missing, corrupt or unusable sketch data."""


class DownloadError(DataError):
    """A download that failed (network, HTTP status, corrupt body)."""


class UnreachableError(DownloadError):
    """A download that could not connect at all: the other files from that server will fail too."""


class PluginError(SketchRNNError):
    """Unknown names, duplicate registrations, plugins that fail to import."""


class CheckpointError(SketchRNNError):
    """Missing, corrupt or mismatched checkpoints."""


class InputError(SketchRNNError):
    """Malformed user input (sketch files given to sample/predict, etc.)."""


class OutputExistsError(SketchRNNError):
    """A write that would replace an existing file the user did not ask to replace."""

    def __init__(self, path: object, fix: str = "delete it, or choose another output name") -> None:
        self.path = path
        super().__init__(f"{path} already exists", fix)


class JobLockedError(SketchRNNError):
    """A job folder in use by another live `sketchrnn fit` (its lock file names the holder)."""
