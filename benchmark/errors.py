"""User-facing errors. The CLI turns these into a one-paragraph message and exit code 2."""

from __future__ import annotations


class BenchmarkError(Exception):
    """An error caused by the user's input (file, option, config), not by a bug."""


class DataError(BenchmarkError):
    """A data file is missing, corrupt, truncated or has the wrong schema."""


class ConfigError(BenchmarkError, ValueError):
    """A configuration key is unknown or a value is out of range."""


class ArtifactMismatchError(BenchmarkError):
    """An artifact (checkpoint, SID catalog, submission) was built for another data split."""


class StorageError(BenchmarkError, OSError):
    """A results or cache directory cannot be written (not a directory, read-only, disk full...).

    Also an ``OSError`` (with the original ``errno``) so code that handles filesystem errors still does.
    """
