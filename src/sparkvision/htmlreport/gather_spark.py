"""Reading what a page needs from an output table on Spark.

Counts, histograms and confusion are Spark aggregations; the gallery candidates are the
``cap`` least confident images of each (label, true label) cell, picked with a window;
failed files are the first ``max_failed`` by path. Only these bounded results reach the
driver, and thumbnails are made on the executors for exactly the images the page shows
(:func:`.thumbs.spark_thumbnails`), so the driver never holds more than the page.
"""

from __future__ import annotations

from sparkvision.htmlreport.data import HIST_BINS, Failure, Thumb


def table_stats(table) -> dict:
    """Counts per label, score histograms, confusion and failures by kind."""
    from pyspark.sql import functions as F

    columns = set(table.columns)
    failed = table.where(F.col("error").isNotNull())
    stats: dict = {
        "failed_by_kind": {r[0] or "unknown": r[1] for r in
                           failed.groupBy("error_kind").count().collect()},
        "label_counts": {}, "histograms": {}, "confusion": {}, "cells": {},
    }
    if "label" not in columns:
        return stats
    ok = table.where(F.col("error").isNull() & F.col("label").isNotNull())
    score = F.col("score").cast("double")
    # Same bins as data.score_bin; a missing score is counted, but in no bin.
    binned = F.when(score.isNotNull(), F.least(
        F.lit(HIST_BINS - 1), F.greatest(F.lit(0), F.floor(score * HIST_BINS).cast("int"))))
    for row in ok.groupBy("label", binned.alias("bin")).count().collect():
        hist = stats["histograms"].setdefault(row["label"], [0] * HIST_BINS)
        if row["bin"] is not None:
            hist[row["bin"]] += row["count"]
        counts = stats["label_counts"]
        counts[row["label"]] = counts.get(row["label"], 0) + row["count"]
    truth = "label_true" in columns
    keys = ["label", "label_true"] if truth else ["label"]
    for row in ok.groupBy(*keys).count().collect():
        label_true = row["label_true"] if truth else None
        stats["cells"][(row["label"], label_true)] = row["count"]
        if label_true is not None:
            stats["confusion"].setdefault(label_true, {})[row["label"]] = row["count"]
    return stats


def gallery_candidates(table, cap: int) -> list[Thumb]:
    """The ``cap`` least confident rows of every (label, true label) cell."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    truth = "label_true" in table.columns
    keys = ["label", "label_true"] if truth else ["label"]
    ok = table.where(F.col("error").isNull() & F.col("label").isNotNull())
    ok = ok.withColumn("score", F.col("score").cast("double"))
    window = Window.partitionBy(*keys).orderBy(F.col("score").asc_nulls_last(), "path")
    picked = (ok.withColumn("_rank", F.row_number().over(window))
              .where(F.col("_rank") <= cap)
              .select("path", "label", "score",
                      (F.col("label_true") if truth else F.lit(None).cast("string")).alias("t")))
    return [Thumb(r["path"], r["label"], r["score"], r["t"]) for r in picked.collect()]


def first_failures(table, limit: int) -> list[Failure]:
    from pyspark.sql import functions as F

    rows = (table.where(F.col("error").isNotNull()).select("path", "error_kind", "error")
            .orderBy("path").limit(limit).collect())
    return [Failure(r["path"], r["error_kind"], r["error"]) for r in rows]
