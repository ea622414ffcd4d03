"""Inputs listed where the data is: object-store prefixes and cluster folders are listed
by Spark tasks, so the machine that types the command needs neither the files nor the
credentials.

- a URI of an fsspec file system (``s3://bucket/photos/``) is listed with fsspec inside a
  Spark task (:func:`sparkvision.storage.uris.find_images`: recursive, extensions in any
  case, ``.`` names skipped, ``_`` names kept);
- a URI of a Hadoop file system (``hdfs://``, ``s3a://``, ``gs://``, ``abfss://``,
  ``dbfs:/``) is listed by Spark's own file index (``binaryFile`` with only path and size
  read, never the bytes), with the connectors the cluster has; that index skips names
  starting with ``_`` or ``.``;
- under Spark Connect, an absolute folder is listed on the server's side, as the server
  sees it (this machine may not see it at all);
- everything else (folders, globs, files, path-list files here) is listed here, as before
  (a command-line job gives a path-list file to Spark to read instead, when its jobs see
  this machine's files: :mod:`sparkvision.sources.list_frames`).

The paths come back to this process (a list of names, not of bytes), sorted.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sparkvision.errors import InputError
from sparkvision.storage.listing import check_found, expand_inputs, normalize_extensions
from sparkvision.storage.reader import to_local_path
from sparkvision.storage.uris import HADOOP_SCHEMES, find_images, names_a_file, scheme

LISTING_SCHEMA = "root string, path string, error string"


def list_inputs(inputs: str | Sequence[str], *, extensions: Iterable[str] | None = None,
                path_col: str | None = None, session: Callable[[], Any] | None = None,
                connect: bool = False, storage: Mapping[str, Any] | None = None,
                require: bool = True) -> list[str]:
    """Every image path of ``inputs``, listed where each input lives. ``session()`` gives
    the Spark session to list on (opened only when an input needs it; ``None``: this
    process lists everything, fsspec URIs included); ``connect``: the session is a Spark
    Connect one, whose server may see folders this machine does not; ``storage``: fsspec
    options for object-store URIs; ``require``: none found is an InputError (else an
    empty list)."""
    exts = normalize_extensions(extensions)
    items = [inputs] if isinstance(inputs, str) else list(inputs)
    # under Spark Connect an image file the server reads is an input as it is, seen here
    # or not
    given = [i for i in items if connect and _server_file(i, exts)]
    rest = [i for i in items if i not in given]
    here, elsewhere = expand_inputs(
        rest, extensions=exts, path_col=path_col,
        elsewhere=functools.partial(_listed_elsewhere, exts=exts, connect=connect)) \
        if rest else ([], [])
    found = [*given, *here]
    if elsewhere:
        spark = session() if session is not None else None
        found.extend(list_remote(elsewhere, exts, spark, storage=storage))
    return check_found(found, inputs, exts) if require else sorted(set(found))


def _server_file(item: str, exts: tuple[str, ...]) -> bool:
    local = to_local_path(item)
    return (local is not None and os.path.isabs(local) and names_a_file(local, exts)
            and not os.path.exists(local))


def _listed_elsewhere(item: str, *, exts: tuple[str, ...], connect: bool) -> bool:
    local = to_local_path(item)
    if local is None:
        return not names_a_file(item, exts)
    # under Spark Connect the server lists folders as it sees them (this machine may hold
    # none of the photos, or an empty folder of the same name)
    return (connect and os.path.isabs(local) and not glob.has_magic(local)
            and (os.path.isdir(local) or not os.path.lexists(local)))


def list_remote(items: Sequence[str], exts: tuple[str, ...], spark: Any = None, *,
                storage: Mapping[str, Any] | None = None) -> list[str]:
    """The image paths below each of ``items`` (URIs, or folders only the cluster sees)."""
    hadoop = [i for i in items if scheme(i) in HADOOP_SCHEMES]
    other = [i for i in items if scheme(i) not in HADOOP_SCHEMES]
    if spark is None:
        if hadoop:
            raise InputError(
                f"'{hadoop[0]}' is listed by Spark's Hadoop file systems: use a Spark "
                "execution (iterator, pandas or udf), not python")
        return [path for item in other for path, _, _ in find_images(item, exts, storage)]
    found = _listed_in_tasks(spark, other, exts, storage) if other else []
    return found + [p for item in hadoop for p in _listed_by_spark(spark, item, exts)]


def _listed_in_tasks(spark: Any, roots: Sequence[str], exts: tuple[str, ...],
                     storage: Mapping[str, Any] | None) -> list[str]:
    frame = spark.createDataFrame([(r,) for r in roots], "root string")
    rows = frame.repartition(min(len(roots), 256)).mapInPandas(
        functools.partial(list_batches, exts=exts, storage=storage), LISTING_SCHEMA).collect()
    failed = [r for r in rows if r["error"]]
    if failed:
        raise InputError(failed[0]["error"])
    return [r["path"] for r in rows if r["path"]]


def list_batches(batches: Iterator[Any], *, exts: tuple[str, ...],
                 storage: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """Inside a task: each root's images as rows of ``root``, ``path``, ``error``."""
    import pandas as pd

    for batch in batches:
        rows: list[tuple[str, str | None, str | None]] = []
        for root in batch["root"]:
            try:
                rows.extend((root, path, None)
                            for path, _, _ in find_images(root, exts, storage))
            except InputError as exc:
                rows.append((root, None, str(exc)))
        yield pd.DataFrame(rows, columns=["root", "path", "error"])


def _listed_by_spark(spark: Any, uri: str, exts: tuple[str, ...]) -> list[str]:
    from pyspark.sql import functions as F

    try:
        frame = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
                 .load(uri).select("path"))
        wanted = F.lit(False)
        for ext in exts:
            wanted = wanted | F.lower(F.col("path")).endswith(ext)
        return [r["path"] for r in frame.where(wanted).collect()]
    except Exception as exc:  # noqa: BLE001 - a listing that fails is said with its URI
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot list '{uri}': {text}") from None
