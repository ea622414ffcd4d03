"""Spark DataFrames of images: built from path lists, or given by the user."""

from __future__ import annotations

import math
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
):
    """A DataFrame with a ``path`` column (and ``label_true`` when labels are given),
    cut into equal partitions of about ``rows_per_partition`` rows, at least one per core.

    Partition ``k`` of ``n`` holds every ``n``-th input from the ``k``-th on, not a run of
    consecutive ones: inputs listed folder by folder (cats, then dogs; small photos, then
    large ones) would otherwise give tasks of unequal cost, and a core would wait idle for
    the slowest one at the end of the job. Output rows therefore do not keep the listing's
    order (no output does: the ``path`` column says which input a row is).

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
    slices = max(default_parallelism(spark), math.ceil(len(rows) / max(1, rows_per_partition)))
    slices = min(slices, max(1, len(rows)))
    rows = interleave(rows, slices)
    if not is_connect(spark):
        rdd = spark.sparkContext.parallelize(rows, slices)
        return spark.createDataFrame(rdd, StructType(fields))
    return _spread(spark, rows, StructType([StructField("_row", LongType(), False), *fields]),
                   slices)


def interleave(rows: Sequence[tuple], parts: int) -> list[tuple]:
    """``rows`` reordered so that cutting the list into ``parts`` consecutive slices of
    equal size (as ``parallelize`` and ``spark.range`` do) gives slice ``k`` the rows
    ``k, k + parts, k + 2 * parts, ...``.

    >>> interleave([(i,) for i in range(7)], 3)
    [(0,), (3,), (6,), (1,), (4,), (2,), (5,)]
    """
    return [row for k in range(parts) for row in rows[k::parts]]


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
