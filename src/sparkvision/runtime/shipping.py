"""Getting a user's model file to the Python workers: by path, broadcast or artifact.

``--ship path``       the workers open the file themselves: right when they can read it
                      (a local master, a shared or distributed file system, a URI such as
                      ``hdfs://`` or ``s3a://`` that the workers read through fsspec).
``--ship broadcast``  the driver reads the file once and sends its bytes with
                      ``sc.broadcast``; each worker process writes them once into its
                      local cache directory and loads from there (classic sessions only).
``--ship artifact``   the driver adds the file to the session with
                      ``spark.addArtifacts(path, file=True)`` (named by its sha256); the
                      workers find it with ``SparkFiles.get``. Works on classic sessions
                      and on Spark Connect, where there is no broadcast.
``--ship auto``       (default) ``path`` on local and loopback masters (and a Spark Connect
                      server on this machine running jobs here) and for URIs the workers
                      can read; else ``broadcast``, or ``artifact`` under Spark Connect.

Either way the file is checked against the sha256 the driver computed, so a file that
changed or was only half copied is refused instead of silently giving other answers.
The broadcast handle rides in the spec as a :class:`Shipped`, which pickles as the
broadcast's id only (never the bytes) and compares by content; an added file as an
:class:`Artifact` (its name and sha256).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sparkvision.config import SHIP_MODES, ModelSpec
from sparkvision.errors import ConfigError, ModelError
from sparkvision.runtime.session import is_connect, is_loopback, server_is_local, session_key
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


def choose_ship(ship: str, artifact: str, master: str | None, *, connect: bool = False) -> str:
    """``path``, ``broadcast`` or ``artifact`` for ``ship`` (``auto`` decides, see module
    docstring); ``master`` is where jobs run (None or a loopback one: this machine),
    ``connect`` whether the session is a Spark Connect one."""
    if ship not in SHIP_MODES:
        raise ConfigError(f"--ship must be one of {', '.join(SHIP_MODES)}; found {ship!r}")
    if ship == "broadcast" and connect:
        raise ConfigError(
            "--ship broadcast needs a classic Spark session (a Spark Connect session has no "
            "broadcast): use --ship artifact (ship='artifact'), which sends the file with "
            "spark.addArtifacts, or --ship path for storage every worker reads"
        )
    if ship != "auto":
        return ship
    sender = "artifact" if connect else "broadcast"
    if is_uri(artifact):
        return "path" if _has_fsspec() else sender
    if master is None or is_loopback(master):
        return "path"
    return sender


def _has_fsspec() -> bool:
    try:
        import fsspec  # noqa: F401
    except ImportError:
        return False
    return True


def read_model_bytes(path: str, spark=None) -> bytes:
    """The whole model file, on the driver: local paths directly, URIs through fsspec or,
    without it, Spark's ``binaryFile`` source."""
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
    if spark is None:
        raise ModelError(
            f"cannot read the model file {path}: its scheme needs fsspec or a Spark session"
        )
    rows = spark.read.format("binaryFile").load(path).select("content").take(2)
    if len(rows) != 1:
        raise ModelError(f"expected one model file at {path}; found {len(rows)}")
    return bytes(rows[0]["content"])


_broadcasts: dict[tuple[str, str], object] = {}
_broadcast_lock = threading.Lock()


def ship_bytes(spark, data: bytes, sha256: str, suffix: str) -> Shipped:
    """Broadcast ``data`` (once per Spark application and file content)."""
    sc = spark.sparkContext
    key = (sc.applicationId, sha256)
    with _broadcast_lock:
        handle = _broadcasts.get(key)
        if handle is None:
            handle = sc.broadcast(data)
            _broadcasts[key] = handle
    return Shipped(handle, sha256, suffix)


def ship_model(spark, ship: str, artifact: str, local: str,
               sha256: str) -> tuple[Shipped | Artifact | None, str]:
    """Driver side: ``(shipped, artifact)`` for a model file; ``shipped`` is the broadcast
    of the file, or the artifact added to the session, when ``ship`` (``auto`` decides
    from where the jobs run) says so."""
    connect = spark is not None and is_connect(spark)
    master = None
    if spark is not None:
        master = None if server_is_local(spark) else (
            "remote" if connect else spark.sparkContext.master)
    how = choose_ship(ship, artifact, master, connect=connect)
    if how == "path":
        return None, artifact
    if spark is None:
        raise ConfigError(f"--ship {how} needs a Spark session to send the model file")
    if os.path.isdir(local):
        raise ConfigError(
            f"the model {artifact} is a folder, which is shipped by path only: put it on "
            "storage every worker can read and use --ship path"
        )
    if how == "artifact":
        return ship_artifact(spark, local, sha256), artifact
    with open(local, "rb") as fh:
        data = fh.read()
    return ship_bytes(spark, data, sha256, os.path.splitext(local)[1]), artifact


_artifacts: set[tuple[str, str]] = set()


def ship_artifact(spark: Any, local: str, sha256: str) -> Artifact:
    """Add the file at ``local`` to the session as ``<sha256><suffix>`` (a copy in the
    model cache, so two models never share a name), once per session."""
    staged = cached_model_path(sha256, os.path.splitext(local)[1])
    if not os.path.isfile(staged):
        tmp = f"{staged}.{os.getpid()}.tmp"
        shutil.copyfile(local, tmp)
        os.replace(tmp, staged)
    name = os.path.basename(staged)
    session = session_key(spark)
    with _broadcast_lock:
        if (session, name) not in _artifacts:
            spark.addArtifacts(staged, file=True)
            _artifacts.add((session, name))
    return Artifact(name, sha256)


# ---------------------------------------------------------------------------- worker side

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
            "worker can read (a shared or distributed file system), or use --ship broadcast "
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
            f"{path}); use --ship path with storage every worker reads"
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
                f"by {how}): it changed or differs on this machine. Rerun, or use --ship "
                "broadcast so every worker gets the driver's copy"
            )
        _verified[key] = expected
        return path
