"""The query photos: named by the user, embedded on Spark with the model of the vectors.

A query that names a file that is not there is kept (absolute) and fails like any
unreadable image: it gets a result row with its error, never silently dropped. Folders,
globs and path-list files are expanded as every command expands its inputs.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sparkvision.errors import InputError
from sparkvision.storage.listing import expand_inputs
from sparkvision.storage.reader import to_local_path


@dataclass(frozen=True)
class Query:
    """One query photo and its vector, or why it has none."""

    path: str
    vector: np.ndarray | None = None
    error: str | None = None


def query_paths(items: str | Sequence[str], *,
                extensions: Iterable[str] | None = None) -> list[str]:
    """The query photos ``items`` name, in the order given (what a folder or glob holds,
    sorted), without repeats; a plain file name that does not exist is kept, so its result
    says so.

    >>> query_paths(["/no/such/photo.jpg"])
    ['/no/such/photo.jpg']
    """
    named = [items] if isinstance(items, str) else list(items)
    if not named:
        raise InputError("no query photos given: pass `queries` (image files, folders or "
                         "globs)")
    found: list[str] = []
    for item in named:
        local = to_local_path(item)
        if local is not None and not glob.has_magic(local) and not os.path.lexists(local):
            found.append(os.path.abspath(local))
        else:
            found.extend(sorted(expand_inputs([item], extensions=extensions)[0]))
    unique = list(dict.fromkeys(found))
    if not unique:
        raise InputError(f"no query photos found in {', '.join(named)}: expected image files, "
                         "or folders and globs holding some")
    return unique


def embed_queries(spark: Any, paths: Sequence[str], spec: Any, *, batch_size: int,
                  storage: Mapping[str, Any] | None = None) -> list[Query]:
    """Every query of ``paths`` with its vector from the prepared model ``spec`` (embedded
    by the same UDF as ``embed``), or its error; in the order of ``paths``."""
    from sparkvision.jobs.pipeline import apply_model
    from sparkvision.sources import paths_frame

    frame = paths_frame(spark, list(paths), rows_per_partition=4 * batch_size)
    rows = apply_model(frame, spec, batch_size=batch_size, path_col="path",
                       storage=storage).select("path", "embedding", "error").collect()
    by_path = {r["path"]: r for r in rows}
    queries = []
    for path in paths:
        row = by_path.get(path)
        if row is None:
            queries.append(Query(path, error="the query was not embedded"))
        elif row["error"] is not None or row["embedding"] is None:
            queries.append(Query(path, error=row["error"] or "no embedding"))
        else:
            queries.append(as_query(path, np.asarray(row["embedding"], dtype=np.float64)))
    return queries


def as_query(path: str, vector: np.ndarray) -> Query:
    """A query of ``vector``, or an error where it has no direction to compare.

    >>> as_query("a.jpg", np.zeros(3)).error
    'its embedding is all zeros (or not finite): it has no direction to compare'
    """
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        return Query(path, error="its embedding is all zeros (or not finite): it has no "
                                 "direction to compare")
    return Query(path, vector=vector)
