"""Small file helpers shared by the model cache, model shipping, export and sorting."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator

from sparkvision.config import cache_dir

#: Files larger than this are refused before reading (bytes), from disk or an object store.
MAX_FILE_BYTES = 512 * 1024 * 1024


def file_sha256(path: str) -> str:
    """Hex sha256 of the file at ``path``, read in 1 MiB blocks; for a folder (a saved
    Hugging Face model), the sha256 of its files' relative names and hashes."""
    digest = hashlib.sha256()
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                digest.update(f"{os.path.relpath(full, path)}\0{file_sha256(full)}\n".encode())
        return digest.hexdigest()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def absolute_path(path: str) -> str:
    """``path`` made absolute when it is a local one (URIs are kept): a Spark Connect server
    would resolve a relative path in its own working directory, not in the caller's.

    >>> absolute_path("s3a://bucket/out") == "s3a://bucket/out", absolute_path("/a/../b")
    (True, '/b')
    """
    if "://" in path or path.startswith("file:"):
        return path
    return os.path.abspath(path)


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, so a concurrent
    reader (another worker process on a cold cache) never sees a half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if missing) for the ``with``
    block: other processes, on this machine, that take the same lock wait for it. Where
    there is no ``fcntl`` (Windows) nothing is locked: a file made by :func:`build_once`
    may then be built twice, but is still never seen half-written."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def build_once(path: str, build: Callable[[str], None]) -> bool:
    """Make the file ``path`` with ``build(tmp)`` unless it exists, once even when several
    processes ask at the same time: under a lock beside it (``path + ".lock"``), into a
    temporary file of the same folder, renamed into place when complete. True when this
    call built it."""
    if os.path.isfile(path):
        return False
    folder = os.path.dirname(path) or "."
    with file_lock(path + ".lock"):
        if os.path.isfile(path):
            return False
        suffix = os.path.splitext(path)[1]
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
        os.close(fd)
        try:
            build(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return True


def cached_model_path(sha256: str, suffix: str) -> str:
    """Where a model file with content ``sha256`` lives in the local cache."""
    folder = os.path.join(cache_dir(), "models")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"{sha256}{suffix}")


def cache_bytes(data: bytes, suffix: str) -> str:
    """Store ``data`` in the model cache under its content hash (once) and return the path."""
    path = cached_model_path(hashlib.sha256(data).hexdigest(), suffix)
    if not os.path.isfile(path):
        write_atomically(path, data)
    return path
