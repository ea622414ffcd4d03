"""Reading one image's bytes from a path or URI, on whichever process needs them.

Local paths and ``file:`` URIs are read directly. Other schemes (``s3a://``, ``hdfs://``,
...) are read through ``fsspec`` when it is installed; otherwise load the images with
Spark's ``binaryFile`` source and pass the DataFrame, whose ``content`` column needs no
reading here.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

from ..imaging.decode import ImageProblem

#: Files larger than this are refused before reading (bytes).
MAX_FILE_BYTES = 512 * 1024 * 1024


def to_local_path(path: str) -> str | None:
    """The local file-system path for ``path``, or None if it has another scheme."""
    if path.startswith("file:"):
        parsed = urlparse(path)
        return unquote(parsed.path)
    if "://" in path:
        return None
    return path


def read_image_bytes(path: str) -> bytes:
    """Read the whole file at ``path``; failures raise :class:`ImageProblem`."""
    local = to_local_path(path)
    if local is None:
        return _read_remote(path)
    try:
        if os.path.isdir(local):
            raise ImageProblem("is_directory", f"'{path}' is a directory, expected an image file")
        size = os.path.getsize(local)
        if size > MAX_FILE_BYTES:
            raise ImageProblem(
                "too_large",
                f"'{path}' is {size:,} bytes, above the {MAX_FILE_BYTES:,}-byte file limit",
            )
        with open(local, "rb") as fh:
            return fh.read()
    except ImageProblem:
        raise
    except FileNotFoundError:
        kind = "broken_link" if os.path.islink(local) else "missing"
        what = "a symbolic link to a missing target" if kind == "broken_link" else "no file"
        raise ImageProblem(kind, f"could not read '{path}': found {what}") from None
    except PermissionError:
        raise ImageProblem("unreadable", f"could not read '{path}': permission denied") from None
    except OSError as exc:
        raise ImageProblem("unreadable", f"could not read '{path}': {exc.strerror or exc}") from None


def _read_remote(path: str) -> bytes:
    try:
        import fsspec
    except ImportError:
        raise ImageProblem(
            "unsupported_scheme",
            f"cannot read '{path}' from a Python worker: install fsspec with the driver for "
            "this scheme, or load the images with spark.read.format('binaryFile') and pass "
            "that DataFrame (its content column is used)",
        ) from None
    try:
        with fsspec.open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ImageProblem("missing", f"could not read '{path}': not found") from None
    except Exception as exc:  # noqa: BLE001
        raise ImageProblem("unreadable", f"could not read '{path}': {exc}") from None
