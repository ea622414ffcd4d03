"""Exceptions raised by sparkvision.

The tree, drawn once::

    SparkVisionError    base of everything raised on purpose
    ├── InputError      the inputs cannot be resolved (no files, bad column, bad list file)
    ├── ModelError      a model cannot be found, built, exported or loaded
    ├── ConfigError     options that contradict each other or are out of range
    ├── OutputError     the output cannot be written (unknown format, missing extra)
    └── WorkerSetupError  Spark's Python workers cannot import sparkvision or its engine

Per-image problems (corrupt file, unreadable path, ...) are :class:`ImageProblem`, never raised
out of a job: they become the
``error`` / ``error_kind`` columns of the image's row, so one bad image cannot stop a job.
"""

from __future__ import annotations


class SparkVisionError(Exception):
    """Base class of every error sparkvision raises deliberately."""


class InputError(SparkVisionError, ValueError):
    """The inputs could not be resolved into a table of images."""


class ModelError(SparkVisionError, RuntimeError):
    """A model could not be found, built, exported or loaded."""


class ConfigError(SparkVisionError, ValueError):
    """Options are inconsistent or out of range."""


class OutputError(SparkVisionError, RuntimeError):
    """The output could not be written."""


class WorkerSetupError(SparkVisionError, RuntimeError):
    """Spark's Python workers run an interpreter that lacks sparkvision or a package the
    model needs (see :mod:`sparkvision.runtime.workers`)."""


class MissingExtraError(SparkVisionError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package '{module}', which is not installed. "
            f"Install it with: pip install 'sparkvision[{extra}]'"
        )
        self.module = module
        self.extra = extra


class ImageProblem(Exception):
    """A per-image failure, never raised out of a job: ``kind`` is a short category that
    ends up in ``error_kind``, the message in ``error``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
