"""The model file on this machine: what the driver shipped, fetched and checked.

Spark-free: :class:`Shipped` (a broadcast's handle, pickled as its id) and :class:`Artifact`
(a file added to the session) are what :mod:`sparkvision.runtime.shipping` puts into a
spec; :func:`local_model_file` turns a spec into a checked local path on a worker (or the
driver), and :func:`read_model_bytes` reads a model file or URI (through fsspec).
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlparse

from sparkvision.config import ModelSpec
from sparkvision.errors import ModelError
from sparkvision.storage.files import cached_model_path, file_sha256, write_atomically
from sparkvision.storage.reader import to_local_path


class Shipped:
    """The broadcast bytes of a model file, with the file's sha256 and suffix."""

    __slots__ = ("broadcast", "sha256", "suffix")

    def __init__(self, broadcast, sha256: str, suffix: str) -> None:
        self.broadcast = broadcast
        self.sha256 = sha256
        self.suffix = suffix

    def __repr__(self) -> str:
        return f"broadcast:{self.sha256[:16]}{self.suffix}"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shipped) and other.sha256 == self.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __deepcopy__(self, memo: dict) -> Shipped:
        return self  # a broadcast cannot be copied; lets dataclasses.asdict copy the spec

    def __getstate__(self):
        return (self.broadcast, self.sha256, self.suffix)

    def __setstate__(self, state) -> None:
        self.broadcast, self.sha256, self.suffix = state


@dataclass(frozen=True)
class Artifact:
    """A model file added to the session with ``spark.addArtifacts``: its name there (the
    file's sha256 and suffix) and its sha256."""

    name: str
    sha256: str

    def __str__(self) -> str:
        return f"artifact:{self.name}"


def is_uri(path: str) -> bool:
    """True for ``scheme://...`` other than ``file:`` (a drive letter is not a scheme)."""
    scheme = urlparse(path).scheme
    return len(scheme) > 1 and scheme != "file"


def _has_fsspec() -> bool:
    try:
        import fsspec  # noqa: F401
    except ImportError:
        return False
    return True


def read_model_bytes(path: str) -> bytes:
    """The whole model file: local paths directly, URIs through fsspec."""
    local = to_local_path(path)
    if local is not None:
        try:
            with open(local, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise ModelError(
                f"could not read the model file {path}: {exc.strerror or exc}"
            ) from None
    if _has_fsspec():
        import fsspec

        try:
            with fsspec.open(path, "rb") as fh:
                return fh.read()
        except Exception as exc:
            raise ModelError(f"could not read the model file {path}: {exc}") from exc
    raise ModelError(
        f"cannot read the model file {path}: its scheme needs fsspec (pip install fsspec and "
        "the file system's package, e.g. s3fs) or a Spark session to read it with"
    )


_verified: dict[str, str] = {}
_verify_lock = threading.Lock()


def local_model_file(spec: ModelSpec) -> str:
    """A path on this machine holding ``spec``'s model file, checked against its sha256.

    Called on the worker when the engine is built (once per process).
    """
    expected = spec.artifact_sha256
    shipped = spec.shipped
    if isinstance(shipped, Artifact):
        return _added_file(shipped)
    if shipped is not None:
        target = cached_model_path(shipped.sha256, shipped.suffix)
        if not os.path.isfile(target):
            write_atomically(target, shipped.broadcast.value)
        return _verify(target, shipped.sha256, how="broadcast")
    path = spec.artifact
    if not path:
        raise ModelError(f"model {spec.name!r} has no file to load")
    local = to_local_path(path)
    if local is None:  # a URI: fetch it once into the local cache
        if expected is None:
            raise ModelError(f"model file {path} has no sha256 to check it against")
        target = cached_model_path(expected, os.path.splitext(urlparse(path).path)[1])
        if not os.path.isfile(target):
            write_atomically(target, read_model_bytes(path))
        return _verify(target, expected, how="path")
    if not os.path.exists(local):
        raise ModelError(
            f"the Python worker on host {socket.gethostname()} cannot read the model file "
            f"{path} (shipped by path: found no file there). Put the file on storage every "
            "worker can read (a shared or distributed file system), or use `ship` broadcast "
            "(ship='broadcast') so the driver sends its bytes"
        )
    return _verify(local, expected, how="path")


def _added_file(artifact: Artifact) -> str:
    from pyspark import SparkFiles

    path = SparkFiles.get(artifact.name)
    if not os.path.isfile(path):
        raise ModelError(
            f"the model file {artifact.name}, added to the session with spark.addArtifacts, "
            f"is not in this worker's files on host {socket.gethostname()} (looked for "
            f"{path}); use `ship` path with storage every worker reads"
        )
    return _verify(path, artifact.sha256, how="artifact")


def _verify(path: str, expected: str | None, *, how: str) -> str:
    if expected is None:
        return path
    with _verify_lock:
        stat = os.stat(path)
        key = f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
        if _verified.get(key) == expected:
            return path
        actual = file_sha256(path)
        if actual != expected:
            raise ModelError(
                f"the model file {path} on host {socket.gethostname()} is not the file the "
                f"driver read (sha256 {actual[:12]}..., expected {expected[:12]}...; shipped "
                f"by {how}): it changed or differs on this machine. Rerun, or use `ship` "
                "broadcast so every worker gets the driver's copy"
            )
        _verified[key] = expected
        return path
