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
import threading
from typing import Any

from sparkvision.config import SHIP_MODES
from sparkvision.errors import ConfigError, ModelError
from sparkvision.runtime.session import is_connect, is_loopback, server_is_local, session_key
from sparkvision.storage.files import cached_model_path
from sparkvision.storage.model_files import (
    Artifact,
    Shipped,
    _has_fsspec,
    is_uri,
    read_model_bytes,
)
from sparkvision.storage.reader import to_local_path


def choose_ship(ship: str, artifact: str, master: str | None, *, connect: bool = False) -> str:
    """``path``, ``broadcast`` or ``artifact`` for ``ship`` (``auto`` decides, see module
    docstring); ``master`` is where jobs run (None or a loopback one: this machine),
    ``connect`` whether the session is a Spark Connect one."""
    if ship not in SHIP_MODES:
        raise ConfigError(f"`ship` must be one of {', '.join(SHIP_MODES)}; found {ship!r}")
    if ship == "broadcast" and connect:
        raise ConfigError(
            "`ship` broadcast needs a classic Spark session (a Spark Connect session has no "
            "broadcast): use `ship` artifact (ship='artifact'), which sends the file with "
            "spark.addArtifacts, or `ship` path for storage every worker reads"
        )
    if ship != "auto":
        return ship
    sender = "artifact" if connect else "broadcast"
    if is_uri(artifact):
        return "path" if _has_fsspec() else sender
    if master is None or is_loopback(master):
        return "path"
    return sender


def read_with_session(path: str, spark: Any = None) -> bytes:
    """The whole model file, on the driver: through fsspec where it is installed, else
    with Spark's ``binaryFile`` source on ``spark``."""
    if to_local_path(path) is not None or _has_fsspec() or spark is None:
        return read_model_bytes(path)
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
        raise ConfigError(f"`ship` {how} needs a Spark session to send the model file")
    if os.path.isdir(local):
        raise ConfigError(
            f"the model {artifact} is a folder, which is shipped by path only: put it on "
            "storage every worker can read and use `ship` path"
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




class SessionShipper:
    """How :func:`sparkvision.models.resolve_model` gets files to ``spark``'s workers
    (the :class:`sparkvision.models.shipper.Shipper` of a session): model files by path,
    broadcast or artifact, code with ``spark.addArtifacts``, and model URIs read through
    fsspec or Spark."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def ship(self, spec: Any, local: str, how: str) -> tuple[Shipped | Artifact | None, str]:
        return ship_model(self.spark, how, spec.artifact, local, spec.artifact_sha256 or "")

    def add_code(self, path: str) -> None:
        self.spark.addArtifacts(os.path.abspath(path), pyfile=True)

    def fetch(self, uri: str) -> bytes:
        return read_with_session(uri, self.spark)
