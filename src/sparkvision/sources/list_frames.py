"""Path-list files read by Spark: the inputs of a job as a DataFrame, never a Python list.

A path-list file of millions of lines is read where the jobs run (``spark.read.text``,
``csv`` or ``parquet``), with the rules :func:`sparkvision.storage.listing.read_path_list`
applies in Python: ``.txt``/``.lst`` one path per line, blank lines and ``#`` comments
skipped, surrounding whitespace stripped; ``.csv``/``.parquet`` the ``path_col`` column
(default: the first of path, file, filename, image, uri); a relative path is taken from the
file's folder; a listed path is kept whatever its extension. The paths are de-duplicated by
Spark, the true label (``--label-from``) is computed from each path by Spark functions, and
the table is cached where the jobs run. This process holds a count and the first
:data:`FIRST` paths (for what the model is prepared with), whatever the number of inputs.

Spark reads the file only when its jobs see this machine's files (a local master, or a
Spark Connect server on this machine); otherwise the file is read here, as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from sparkvision.errors import InputError
from sparkvision.sources.frames import task_count
from sparkvision.storage.listing import LIST_SUFFIXES, path_column
from sparkvision.storage.reader import to_local_path

#: how many of the first inputs (in path order) this process keeps
FIRST = 100
#: the column holding a hash of each path, which picks its chunk
HASH = "_sv_hash"
#: a letter in Python's ``[^\W\d_]`` (letters and non-decimal numerals), in Java's regex
_LETTERS = r"[\p{L}\p{Nl}\p{No}]"


def list_file(item: str) -> str | None:
    """``item`` as a path-list file of this machine that Spark can be given by name, or
    None when it is not one (a name Hadoop would read as a pattern is read here)."""
    local = to_local_path(item)
    if (local is None or not local.lower().endswith(LIST_SUFFIXES)
            or any(c in local for c in "*?[]{}%\\")):
        return None
    return os.path.abspath(local) if os.path.isfile(local) else None


def spark_reads_here(spark: Any) -> bool:
    """Whether the session's jobs see this machine's files (where a list file is)."""
    from sparkvision.runtime.session import server_is_local

    try:
        return server_is_local(spark)
    except Exception:  # noqa: BLE001 - when it cannot be told, read the file here
        return False


def list_file_frame(spark: Any, path: str, path_col: str | None = None) -> Any:
    """The paths of the list file ``path`` as a DataFrame of one ``path`` column."""
    from pyspark.sql import functions as F

    uri = "file://" + path
    lower = path.lower()
    if lower.endswith((".txt", ".lst")):
        lines = spark.read.text(uri)
        value = F.regexp_replace(F.col("value"), r"^\s+|\s+$", "")
        values = lines.select(value.alias("path")).where(
            (F.col("path") != "") & ~F.col("path").startswith("#"))
    else:
        table = (spark.read.option("header", "true").option("escape", '"')
                 .option("multiLine", "true").csv(uri)
                 if lower.endswith(".csv") else spark.read.parquet(uri))
        column = path_column(path, path_col, table.columns)
        values = table.select(F.col(f"`{column}`").cast("string").alias("path")).where(
            F.col("path").isNotNull())
    base = os.path.dirname(path).rstrip("/") + "/"
    absolute = F.col("path").contains("://") | F.col("path").startswith("/")
    return values.select(
        F.when(absolute, F.col("path")).otherwise(F.concat(F.lit(base), F.col("path")))
        .alias("path"))


def label_column(how: str) -> Any:
    """The true label of the ``path`` column, as :func:`sparkvision.storage.listing.
    label_from_path` gives it: the parent folder's name or the file-name prefix,
    lower-cased; null where there is none."""
    from pyspark.sql import functions as F

    trimmed = F.regexp_replace(F.col("path"), "/+$", "")
    if how == "folder":
        found = F.regexp_extract(trimmed, r"([^/]*)/+[^/]*$", 1)
    elif how == "filename":
        name = F.regexp_extract(trimmed, r"([^/]*)$", 1)
        found = F.regexp_extract(name, rf"^({_LETTERS}+)", 1)
    else:
        raise InputError(f"`label_from` must be 'folder' or 'filename'; found {how!r}")
    return F.when(found == "", F.lit(None).cast("string")).otherwise(F.lower(found))


@dataclass
class InputTable:
    """The inputs of a job on Spark: ``frame`` (``path``, ``label_true`` with labels, and
    :data:`HASH`), cached; ``total`` rows; ``first``: the first paths in order."""

    frame: Any
    total: int
    first: list[str]

    def close(self) -> None:
        try:
            self.frame.unpersist()
        except Exception:  # noqa: BLE001 - the session may be gone
            pass


def input_table(spark: Any, lists: Sequence[str], others: Sequence[str] = (), *,
                path_col: str | None = None, label_from: str | None = None) -> InputTable:
    """The paths of the list files ``lists`` and the paths ``others`` (listed already),
    de-duplicated, with their labels (``label_from``) and a hash of each path, cached."""
    from pyspark.sql import functions as F

    from sparkvision.runtime.session import default_parallelism

    frames = [list_file_frame(spark, path, path_col) for path in lists]
    if others:
        frames.append(spark.createDataFrame([(p,) for p in others], "path string"))
    paths = frames[0]
    for more in frames[1:]:
        paths = paths.unionByName(more)
    # the de-duplicating shuffle's partitions, merged to one per core: each chunk's job
    # scans the cached table in that many tasks (200 of them cost ~1 s a chunk)
    paths = paths.dropDuplicates(["path"]).coalesce(default_parallelism(spark))
    columns = [F.col("path")]
    if label_from:
        columns.append(label_column(label_from).alias("label_true"))
    frame = paths.select(*columns, F.xxhash64("path").alias(HASH)).cache()
    total = frame.count()
    first = [r["path"] for r in frame.select("path").orderBy("path").limit(FIRST).collect()]
    return InputTable(frame, total, first)


def hash_chunk_frames(frame: Any, count: int, *, cores: int, per_partition: int,
                      ) -> tuple[int, Iterator[tuple[int, int, Any]]]:
    """``frame`` (with :data:`HASH`) cut into ``count`` chunks, chunk ``k`` the rows whose
    hash is ``k`` modulo ``count``: the number of rows, and ``(lo, hi, rows)`` for each chunk
    with rows (``lo``, ``hi``: where it starts and ends in a count of all the rows), spread
    over about ``per_partition`` rows per partition and at least ``cores`` partitions."""
    from pyspark.sql import functions as F

    keyed = frame.withColumn("_sv_chunk", F.pmod(F.col(HASH), F.lit(max(1, count))))
    sizes = {r[0]: r[1] for r in keyed.groupBy("_sv_chunk").count().collect()}

    def chunks() -> Iterator[tuple[int, int, Any]]:
        lo = 0
        for number in range(count):
            rows = sizes.get(number, 0)
            if rows:
                part = keyed.where(F.col("_sv_chunk") == number).drop("_sv_chunk", HASH)
                yield lo, lo + rows, part.repartition(task_count(rows, cores, per_partition))
                lo += rows

    return sum(sizes.values()), chunks()


class FirstPaths(Sequence[str]):
    """The first paths of ``total`` inputs, for code that reads the first few of a path
    list and its length (``prepare_model``'s calibration on the first inputs)."""

    def __init__(self, first: Sequence[str], total: int) -> None:
        self._first = list(first)
        self._total = total

    def __len__(self) -> int:
        return self._total

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._total)
            if max(start, stop) > len(self._first) or step != 1:
                raise IndexError("only the first inputs are held here")
            return self._first[start:stop]
        if not 0 <= index < len(self._first):
            raise IndexError("only the first inputs are held here")
        return self._first[index]
