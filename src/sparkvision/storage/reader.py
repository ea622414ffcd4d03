"""Reading one image's bytes from a path or URI, on whichever process needs them.

Local paths and ``file:`` URIs are read directly. Other schemes (``s3a://``, ``hdfs://``,
...) are read through ``fsspec`` when it is installed; otherwise load the images with
Spark's ``binaryFile`` source and pass the DataFrame, whose ``content`` column needs no
reading here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlparse

from sparkvision.errors import ImageProblem
from sparkvision.storage.files import MAX_FILE_BYTES

__all__ = ["MAX_FILE_BYTES", "read_image_bytes", "to_local_path"]


def to_local_path(path: str) -> str | None:
    """The local file-system path for ``path``, or None if it has another scheme."""
    if path.startswith("file:"):
        parsed = urlparse(path)
        return unquote(parsed.path)
    if "://" in path:
        return None
    return path


def read_image_bytes(path: str, options: Mapping[str, Any] | None = None) -> bytes:
    """Read the whole file at ``path``; failures raise :class:`ImageProblem`.

    Only regular files are read: a directory, a named pipe (which would block the worker
    forever), a socket or a device is refused with a per-image error, and so is a file
    above :data:`MAX_FILE_BYTES`. A file that vanished or lost its read permission after
    it was listed is reported as ``missing`` / ``broken_link`` / ``unreadable``. A URI is
    read through fsspec with ``options`` (:mod:`sparkvision.storage.remote`).
    """
    local = to_local_path(path)
    if local is None:
        return _read_remote(path, options)
    try:
        info = os.stat(local)
        _check_regular(path, info)
        # O_NONBLOCK: if the path became a FIFO since the stat, open must not wait for a writer.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(local, flags)
        with os.fdopen(fd, "rb") as fh:
            _check_regular(path, os.fstat(fh.fileno()))
            data = fh.read(MAX_FILE_BYTES + 1)
    except ImageProblem:
        raise
    except (FileNotFoundError, NotADirectoryError):
        kind = "broken_link" if os.path.islink(local) else "missing"
        what = (
            "a symbolic link to a missing target" if kind == "broken_link"
            else "no file there; check that it was not moved or deleted after the inputs "
            "were listed"
        )
        raise ImageProblem(kind, f"could not read '{path}': found {what}") from None
    except PermissionError:
        raise ImageProblem(
            "unreadable", f"could not read '{path}': permission denied; give the job's user "
            "read access to it"
        ) from None
    except OSError as exc:
        raise ImageProblem("unreadable",
                           f"could not read '{path}': {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ImageProblem("too_large",
                           f"'{path}' grew above the {MAX_FILE_BYTES:,}-byte file limit")
    return data


def _check_regular(path: str, info: os.stat_result) -> None:
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise ImageProblem("is_directory", f"'{path}' is a directory, expected an image file")
    if not stat.S_ISREG(mode):
        what = (
            "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file"
        )
        raise ImageProblem(
            "unreadable", f"could not read '{path}': it is {what}, expected a regular image file"
        )
    if info.st_size > MAX_FILE_BYTES:
        raise ImageProblem(
            "too_large",
            f"'{path}' is {info.st_size:,} bytes, above the {MAX_FILE_BYTES:,}-byte file limit; "
            "refused to read it",
        )


def _read_remote(path: str, options: Mapping[str, Any] | None) -> bytes:
    from sparkvision.storage.remote import fetch

    value = fetch([path], options)[0]
    if isinstance(value, ImageProblem):
        raise value
    return value
