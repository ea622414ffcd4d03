"""The Spark stages of ``dedup``, each a function from DataFrames to a DataFrame.

files (path + sha256, size, mtime, pixels) -> contents (one row per distinct sha256, with
its embedding) -> unit vectors -> near pairs (:mod:`.lsh`) -> components
(:mod:`.components`) -> the groups table, one row per file that has a duplicate.
"""

from __future__ import annotations

import math
import warnings

import pandas as pd

from sparkvision.dedup.components import materialise
from sparkvision.dedup.keeper import FileInfo, duplicate_reason, keeper_reason

GROUP_COLUMNS = ("path", "group", "kind", "keeper", "similarity", "reason")


def distinct_contents(files):
    """One row per distinct sha256 of the readable ``files``: ``sha256``, ``rep`` (its
    first path), ``copies`` and a unique ``id``."""
    from pyspark.sql import functions as F

    ok = files.where(F.col("error").isNull())
    contents = ok.groupBy("sha256").agg(F.min("path").alias("rep"), F.count("*").alias("copies"))
    return materialise(contents.withColumn("id", F.monotonically_increasing_id()))


def attach_vectors(files, contents, vectors):
    """``contents`` plus ``embedding`` taken from an earlier ``embed`` output (``vectors``:
    path, embedding, error): any file with the same bytes lends its vector."""
    from pyspark.sql import functions as F

    have = (vectors.where(F.col("error").isNull() & F.col("embedding").isNotNull())
            .select("path", F.col("embedding").cast("array<float>").alias("embedding")))
    by_sha = (files.join(have, "path").groupBy("sha256")
              .agg(F.first("embedding", ignorenulls=True).alias("embedding")))
    return contents.join(by_sha, "sha256", "left")


def embed_missing(contents, embed, batch_size: int, parallelism: int):
    """``contents`` (with an ``embedding`` column, or without) with every missing
    embedding computed by ``embed`` (``sparkvision.embed`` with the job's model), and
    how many were computed."""
    from pyspark.sql import functions as F

    if "embedding" not in contents.columns:
        contents = contents.withColumn("embedding", F.lit(None).cast("array<float>"))
    done = (contents.where(F.col("embedding").isNotNull())
            .withColumn("error", F.lit(None).cast("string"))
            .withColumn("error_kind", F.lit(None).cast("string")))
    todo = contents.where(F.col("embedding").isNull()).drop("embedding")
    count = todo.count()
    if count == 0:
        return done, 0
    slices = max(parallelism, math.ceil(count / (8 * batch_size)))
    made = embed(todo.repartition(slices), path_col="rep")
    return done.unionByName(made.select(*done.columns)), count


def failures(files, contents):
    """Every file that has no result: unreadable, or its image failed to embed."""
    from pyspark.sql import functions as F

    unreadable = files.where(F.col("error").isNotNull()).select("path", "error", "error_kind")
    bad = contents.where(F.col("error").isNotNull()).select("sha256", "error", "error_kind")
    failed_images = files.where(F.col("error").isNull()).select("path", "sha256").join(
        bad, "sha256").select("path", "error", "error_kind")
    return unreadable.unionByName(failed_images)


def grouped_ids(pairs, contents, rounds_of):
    """``(id, component)`` for every content in a group: joined by near pairs, or held by
    more than one file (exact copies alone). ``rounds_of`` runs connected components."""
    from pyspark.sql import functions as F

    comps, rounds = rounds_of(pairs.select(F.col("a").alias("src"), F.col("b").alias("dst")))
    alone = (contents.where(F.col("copies") > 1).select("id")
             .join(comps.select("id"), "id", "left_anti")
             .withColumn("component", F.col("id")))
    return comps.select("id", "component").unionByName(alone), rounds


def groups_table(files, contents, vectors, grouped):
    """The groups table: one row per file in a group, keeper first (docs/dedup.md)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    members = (files.where(F.col("error").isNull())
               .select("path", "sha256", "bytes", "mtime",
                       (F.col("width").cast("long") * F.col("height").cast("long")).alias("pixels"))
               .join(contents.select("sha256", "id"), "sha256")
               .join(grouped, "id").join(vectors.select("id", "e"), "id"))
    order = [F.col("pixels").desc_nulls_last(), F.col("bytes").desc_nulls_last(),
             F.col("mtime").asc_nulls_last(), F.col("path")]
    ranked = Window.partitionBy("component").orderBy(*order)
    whole = ranked.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    for name in ("path", "sha256", "pixels", "bytes", "mtime", "e"):
        members = members.withColumn(f"k_{name}", F.first(name).over(whole))
    for name in ("pixels", "bytes", "mtime"):
        members = members.withColumn(f"r_{name}", F.nth_value(name, 2).over(whole))
    # The same bytes within a group: the first file in keeper order stands for them, the
    # others are exact copies of it (it is the keeper, or a near duplicate of the keeper).
    twins = Window.partitionBy("component", "sha256").orderBy(*order)
    members = (members.withColumn("c_rank", F.row_number().over(twins))
               .withColumn("c_path", F.first("path").over(
                   twins.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing))))
    dot = F.aggregate(F.zip_with("e", "k_e", lambda x, y: x * y), F.lit(0.0), lambda a, v: a + v)
    same_as_keeper = F.col("sha256") == F.col("k_sha256")
    members = (members.withColumn("keeper", F.row_number().over(ranked) == 1)
               .withColumn("similarity", F.when(same_as_keeper, F.lit(1.0))
                           .otherwise(F.least(F.lit(1.0), dot.cast("double")))))
    all_copies = F.min(same_as_keeper.cast("int")).over(whole) == 1
    group_kind = F.when(all_copies, "exact").otherwise("near")
    members = members.withColumn("kind", F.when(F.col("keeper"), group_kind).otherwise(
        F.when(F.col("c_rank") > 1, "exact").otherwise("near")))
    with warnings.catch_warnings():
        # one row per group, numbered in one partition on purpose (the Spark Connect client
        # warns about exactly that)
        warnings.filterwarnings("ignore", message=".*No Partition Defined for Window")
        numbers = members.select("component").distinct().withColumn(
            "group", F.dense_rank().over(Window.orderBy("component")).cast("long"))
    return (members.join(numbers, "component")
            .withColumn("reason", _reason_udf()(*_REASON_INPUTS))
            .select(*GROUP_COLUMNS))


_REASON_INPUTS = ("keeper", "kind", "similarity", "path", "c_path", "pixels", "bytes", "mtime",
                  "k_path", "k_pixels", "k_bytes", "k_mtime", "r_pixels", "r_bytes", "r_mtime")


def reason_text(row: dict) -> str:
    """The ``reason`` of one row of the groups table (see :mod:`.keeper`)."""
    me = FileInfo(row["path"], _int(row["pixels"]), _int(row["bytes"]), _num(row["mtime"]))
    keeper = FileInfo(row["k_path"], _int(row["k_pixels"]), _int(row["k_bytes"]),
                      _num(row["k_mtime"]))
    if row["keeper"]:
        runner = FileInfo("", _int(row["r_pixels"]), _int(row["r_bytes"]), _num(row["r_mtime"]))
        return keeper_reason(keeper, runner)
    twin = row["c_path"] if row["kind"] == "exact" and row["c_path"] != row["k_path"] else None
    return duplicate_reason(me, keeper, row["kind"], _num(row["similarity"]), twin=twin)


def _reason_udf():
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")  # type: ignore[call-overload]
    def reasons(*columns: pd.Series) -> pd.Series:
        frame = pd.concat(columns, axis=1, keys=list(_REASON_INPUTS))
        return pd.Series([reason_text(r) for r in frame.to_dict("records")], dtype=object)

    return reasons


def _int(value) -> int | None:
    return None if pd.isna(value) else int(value)


def _num(value) -> float | None:
    return None if pd.isna(value) else float(value)
