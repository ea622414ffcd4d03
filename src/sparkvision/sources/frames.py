"""Spark DataFrames of images: built from path lists, or given by the user."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Sequence

from sparkvision.errors import InputError
from sparkvision.sources.spark_images import image_column, is_image_struct
from sparkvision.storage.listing import PATH_COLUMNS

CONTENT_COLUMNS = ("content",)


def paths_frame(
    spark,
    paths: Sequence[str],
    *,
    labels: Sequence[str | None] | None = None,
    rows_per_partition: int = 128,
    decode_side: int | None = None,
):
    """A DataFrame with a ``path`` column (and ``label_true`` when labels are given),
    cut into partitions of at most about ``rows_per_partition`` rows, as many as a multiple
    of the cores (:func:`task_count`).

    Partitions are made to cost the same, or a core waits idle for the slowest task at the
    end of the job: where every path is a file this process sees, they hold equal numbers
    of inputs and equal decoding costs (:func:`balance`, :func:`local_costs`: a phone
    original costs fifty thumbnails). With ``decode_side`` (the model's, see
    :func:`sparkvision.imaging.decode_side`) and at most two waves of tasks, the cost is
    read from each file's header (pixels to decode, progressive JPEG); otherwise it is the
    file's size. Where a path is not such a file, partition ``k`` of ``n`` holds every
    ``n``-th input from the ``k``-th on, not a run of consecutive ones (inputs listed
    folder by folder: cats, then dogs; small photos, then large ones). Output rows
    therefore do not keep the listing's order (no output does: the ``path`` column says
    which input a row is).

    A classic session parallelizes the list; a Spark Connect session (no RDDs) sends it as
    a local relation and spreads it over ``spark.range`` partitions with a broadcast join
    on the row number, which keeps the order and needs no shuffle.
    """
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    from sparkvision.runtime.session import default_parallelism, is_connect

    fields = [StructField("path", StringType(), False)]
    rows: list[tuple[str | None, ...]]
    if labels is not None:
        fields.append(StructField("label_true", StringType(), True))
        rows = list(zip(paths, labels, strict=True))
    else:
        rows = [(p,) for p in paths]
    cores = default_parallelism(spark)
    slices = task_count(len(rows), cores, rows_per_partition)
    headers = decode_side is not None and slices <= HEADER_WAVES * cores
    costs = local_costs(paths, decode_side=decode_side or 0, headers=headers)
    rows = interleave(rows, slices) if costs is None else balance(rows, costs, slices)
    if not is_connect(spark):
        rdd = spark.sparkContext.parallelize(rows, slices)
        return spark.createDataFrame(rdd, StructType(fields))
    return _spread(spark, rows, StructType([StructField("_row", LongType(), False), *fields]),
                   slices)


def task_count(rows: int, cores: int, per_partition: int) -> int:
    """Partitions for ``rows`` inputs: at most about ``per_partition`` rows each, and a
    multiple of ``cores``, so that every wave of tasks fills every core (5 tasks on 2 cores
    would leave one core idle through the last one), never more than ``rows``.

    >>> task_count(2000, 2, 1024), task_count(3000, 2, 1024), task_count(2100, 2, 512)
    (2, 4, 6)
    >>> task_count(3, 4, 512), task_count(0, 2, 512)
    (3, 1)
    """
    cores = max(1, cores)
    waves = max(1, -(-rows // (cores * max(1, per_partition))))
    return max(1, min(rows, waves * cores))


def interleave(rows: Sequence[tuple], parts: int) -> list[tuple]:
    """``rows`` reordered so that cutting the list into ``parts`` consecutive slices of
    equal size (as ``parallelize`` and ``spark.range`` do) gives slice ``k`` the rows
    ``k, k + parts, k + 2 * parts, ...``.

    >>> interleave([(i,) for i in range(7)], 3)
    [(0,), (3,), (6,), (1,), (4,), (2,), (5,)]
    """
    return [row for k in range(parts) for row in rows[k::parts]]


def balance(rows: Sequence[tuple], weights: Sequence[int], parts: int) -> list[tuple]:
    """``rows`` reordered so that cutting the list into ``parts`` consecutive slices as
    ``parallelize`` does (slice ``k`` from ``len * k // parts`` on) gives slices of about
    equal total ``weights``: the rows, heaviest first, are dealt to the slices in turn,
    forwards then backwards (1, 2, 3, 3, 2, 1, ...), a full slice skipped, and each slice
    keeps its rows in their first order.

    >>> balance([("a",), ("b",), ("c",), ("d",)], [9, 1, 8, 2], 2)
    [('a',), ('b',), ('c',), ('d',)]
    >>> balance([(i,) for i in range(6)], [1, 1, 1, 5, 5, 5], 3)
    [(2,), (3,), (1,), (4,), (0,), (5,)]
    """
    total, parts = len(rows), max(1, min(parts, len(rows)))
    # slice k holds as many rows as parallelize's slice k: total * k // parts onwards
    room = [total * (k + 1) // parts - total * k // parts for k in range(parts)]
    slices: list[list[int]] = [[] for _ in range(parts)]
    turn = [*range(parts), *reversed(range(parts))]
    step = 0
    for index in sorted(range(total), key=lambda i: (-weights[i], i)):
        while room[turn[step % len(turn)]] == 0:
            step += 1
        k = turn[step % len(turn)]
        slices[k].append(index)
        room[k] -= 1
        step += 1
    return [rows[i] for part in slices for i in sorted(part)]


#: :func:`paths_frame` reads image headers for jobs of at most this many waves of tasks;
#: in longer ones Spark's own dealing of tasks to free cores evens out most of the rest.
HEADER_WAVES = 2
#: header reads give up, and file sizes stand in, past this many seconds per path on
#: average (a slow or network file system); a local header costs 30 us warm, 160 us cold.
HEADER_SECONDS_PER_PATH = 50e-6
#: ... but never fewer than this many seconds in all: a handful of paths on a busy machine
#: is read whatever its first reads cost.
HEADER_SECONDS_AT_LEAST = 0.05


def local_costs(paths: Sequence[str], *, decode_side: int = 0,
                headers: bool = False) -> list[int] | None:
    """What decoding each path costs, in comparable units; None unless every path is a
    file this process can stat (an object-store URI, or a file only the cluster sees,
    leaves the order alone).

    Without ``headers`` a file costs its size in bytes, weighted as
    :func:`sparkvision.imaging.decode.decode_cost` weighs a byte; with it, the cost is
    read from each file's header for images decoded to a shorter side of ``decode_side``,
    unless that takes longer than :data:`HEADER_SECONDS_PER_PATH` per path (and
    :data:`HEADER_SECONDS_AT_LEAST` in all): then sizes stand in for every file."""
    from sparkvision.imaging.decode import COST_PER_BYTE
    from sparkvision.storage.reader import to_local_path

    files: list[tuple[str, int, bool]] = []
    for path in paths:
        local = to_local_path(path)
        if local is None:
            return None
        try:
            info = os.stat(local)
        except OSError:
            return None
        files.append((local, info.st_size, stat.S_ISREG(info.st_mode)))
    sizes = [COST_PER_BYTE * size for _, size, _ in files]
    if not headers:
        return sizes
    budget = max(HEADER_SECONDS_AT_LEAST, HEADER_SECONDS_PER_PATH * len(files))
    deadline = time.perf_counter() + budget
    costs = []
    for (local, size, regular), by_size in zip(files, sizes, strict=True):
        if time.perf_counter() > deadline:
            return sizes
        costs.append(_header_cost(local, size, decode_side) if regular else by_size)
    return costs


def _header_cost(local: str, size: int, decode_side: int) -> int:
    from sparkvision.imaging.decode import COST_PER_BYTE, decode_cost

    try:
        # O_NONBLOCK: a path that became a FIFO since the stat must not block the driver
        fd = os.open(local, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return COST_PER_BYTE * size
    with os.fdopen(fd, "rb") as fh:
        return decode_cost(fh, size, min_side=decode_side)


def _spread(spark, rows: list[tuple], schema, slices: int):
    from pyspark.sql import functions as F

    numbered = spark.createDataFrame([(i, *row) for i, row in enumerate(rows)], schema)
    ids = spark.range(0, len(rows), 1, slices).withColumnRenamed("id", "_row")
    names = [f.name for f in schema.fields[1:]]
    return ids.join(F.broadcast(numbered), "_row").select(*names)


def input_column(df, *, path_col: str | None = None, content_col: str | None = None) -> str:
    """Which column of ``df`` the model reads: image bytes or a Spark image struct if there
    are any (in that order), else paths. ``content_col`` names a binary column or an image
    struct column (``spark.read.format("image")``'s ``image``)."""
    from pyspark.sql.types import BinaryType, StringType

    types = {f.name: f.dataType for f in df.schema.fields}
    if content_col is not None:
        found = types.get(content_col)
        if not (isinstance(found, BinaryType) or is_image_struct(found)):
            raise InputError(
                f"content column {content_col!r} must be binary (image file bytes, as from "
                "spark.read.format('binaryFile')) or an image struct (as from "
                f"spark.read.format('image')); found {_describe(found)}. Columns: "
                f"{', '.join(types)}"
            )
        return content_col
    if path_col is None:
        content = next((c for c in CONTENT_COLUMNS if isinstance(types.get(c), BinaryType)), None)
        content = content or image_column(types)
        if content is not None:
            return content
    candidates = [path_col] if path_col else list(PATH_COLUMNS)
    for name in candidates:
        if isinstance(types.get(name), StringType):
            return name
    raise InputError(
        "the DataFrame has no image column: expected a binary 'content' column (as from "
        "spark.read.format('binaryFile')), an 'image' struct (as from "
        "spark.read.format('image')) or a string path column "
        f"({path_col!r} or one of {', '.join(PATH_COLUMNS)}); found "
        f"{', '.join(f'{k} {v.simpleString()}' for k, v in types.items())}. "
        "Pass path_col= or content_col="
    )


def _describe(data_type) -> str:
    return "no such column" if data_type is None else data_type.simpleString()
