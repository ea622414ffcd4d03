"""What ``dedup`` needs to know of each file, read on the Spark executors.

For every path: the sha256 of its bytes (exact duplicates share it), its size, its
modification time, and its pixel count from the image header (the keeper rule prefers
more pixels). A file that cannot be read gets ``error``/``error_kind`` as in every other
sparkvision output; a header that cannot be parsed leaves ``pixels`` empty (the
embedding step then reports the image as failed).
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Mapping
from typing import Any

import pandas as pd
from PIL import Image

from sparkvision.storage.reader import read_image_bytes, to_local_path
from sparkvision.storage.remote import read_ahead

#: files fetched together from an object store (and held at once, twice: read-ahead)
READ_CHUNK = 32

FILE_SCHEMA = ("sha256 string, bytes long, mtime double, width int, height int, "
               "error string, error_kind string")
FILE_COLUMNS = ["sha256", "bytes", "mtime", "width", "height", "error", "error_kind"]


def file_facts(path: str, fetched: bytes | Exception | None = None) -> dict:
    """sha256, size, mtime, width and height of the file at ``path`` (or its error);
    ``fetched``: its bytes or read error when they were fetched already (object stores)."""
    empty = {"sha256": None, "bytes": None, "mtime": None, "width": None, "height": None,
             "error": None, "error_kind": None}
    try:
        if isinstance(fetched, Exception):
            raise fetched
        data = fetched if fetched is not None else read_image_bytes(path)
    except Exception as exc:  # noqa: BLE001 - per-file problems become rows
        return {**empty, "error": str(exc), "error_kind": getattr(exc, "kind", "unreadable")}
    local = to_local_path(path)
    mtime = None
    if local is not None:
        try:
            mtime = os.stat(local).st_mtime
        except OSError:
            mtime = None
    width = height = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            width, height = Image.open(io.BytesIO(data)).size  # header only, no decode
        except Exception:  # noqa: BLE001 - the embedding step reports bad images
            pass
    return {**empty, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "mtime": mtime, "width": width, "height": height}


def with_file_facts(paths_frame, path_col: str = "path",
                    storage: Mapping[str, Any] | None = None):
    """``paths_frame`` plus the :data:`FILE_SCHEMA` columns, computed on the executors
    (object-store URIs fetched many at a time with the fsspec ``storage`` options)."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    @pandas_udf(FILE_SCHEMA)  # type: ignore[call-overload]
    def facts(paths: pd.Series) -> pd.DataFrame:
        names = list(paths)
        chunks = [names[i : i + READ_CHUNK] for i in range(0, len(names), READ_CHUNK)]
        rows = [file_facts(name, item if isinstance(item, bytes | Exception) else None)
                for chunk, items in zip(chunks, read_ahead(chunks, storage), strict=True)
                for name, item in zip(chunk, items, strict=True)]
        frame = pd.DataFrame(rows, columns=FILE_COLUMNS)
        return frame.astype({"bytes": "Int64", "width": "Int32", "height": "Int32"})

    return paths_frame.withColumn("_f", facts(F.col(path_col))).select(
        *paths_frame.columns, *[F.col(f"_f.{c}").alias(c) for c in FILE_COLUMNS])
