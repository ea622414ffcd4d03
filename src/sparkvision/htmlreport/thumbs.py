"""Thumbnails of the images a page shows: on Spark executors, or in this process.

Only the paths the page will show come here (a bounded list); each image is read and
decoded by the same code the models use (:mod:`sparkvision.imaging`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sparkvision.imaging.thumbnail import thumbnail_jpeg
from sparkvision.runtime.session import default_parallelism
from sparkvision.storage.reader import read_image_bytes

THUMB_SCHEMA = "image binary, problem string"


def local_thumbnails(paths: Sequence[str]) -> dict[str, tuple[bytes | None, str | None]]:
    """path -> (JPEG bytes, None) or (None, problem), made in this process."""
    return {p: thumbnail_or_problem(p) for p in sorted(set(paths))}


def spark_thumbnails(spark, paths: Sequence[str]) -> dict[str, tuple[bytes | None, str | None]]:
    """path -> (JPEG bytes, None) or (None, problem), made on the executors."""
    from pyspark.sql import functions as F

    unique = sorted(set(paths))
    if not unique:
        return {}
    slices = max(1, min(len(unique), default_parallelism(spark) * 2))
    frame = spark.createDataFrame([(p,) for p in unique], "path string").repartition(slices)
    made = frame.select("path", _thumbnail_udf()(F.col("path")).alias("t"))
    return {r["path"]: (r["t"]["image"], r["t"]["problem"]) for r in made.collect()}


def thumbnail_or_problem(path: str) -> tuple[bytes | None, str | None]:
    """The thumbnail of the image at ``path``, or why there is none."""
    try:
        return thumbnail_jpeg(read_image_bytes(path)), None
    except Exception as exc:  # noqa: BLE001 - a missing picture must not cost the page
        return None, f"{getattr(exc, 'kind', type(exc).__name__)}: {exc}"


def _thumbnail_udf():
    from pyspark.sql.functions import pandas_udf

    @pandas_udf(THUMB_SCHEMA)  # type: ignore[call-overload]
    def thumbnails(paths: pd.Series) -> pd.DataFrame:
        made = [thumbnail_or_problem(p) for p in paths]
        return pd.DataFrame(made, columns=["image", "problem"])

    return thumbnails
