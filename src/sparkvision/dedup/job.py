"""``sparkvision dedup``: the whole job, from photos (or an ``embed`` output) to groups.

1. list the inputs; read every file on the executors: sha256, size, mtime, pixels;
2. one embedding per distinct content (exact copies are embedded once), taken from
   ``--vectors`` where it has one, else computed with :func:`sparkvision.embed`;
3. near pairs by banded MLlib LSH (:mod:`.lsh`), grouped with exact copies by connected
   components on Spark (:mod:`.components`);
4. one keeper per group (:mod:`.keeper`), the groups table written like every output, the
   failed files in ``OUT/_failed``, the summary in ``OUT/_summary.json``;
5. with ``--move-duplicates-to``, the non-keepers moved by :func:`sparkvision.sinks.sort_into`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from sparkvision.dedup.defaults import DEFAULT_THRESHOLD, METHODS
from sparkvision.dedup.summary import DedupSummary
from sparkvision.errors import ConfigError
from sparkvision.options import ModelRequest, SparkOptions
from sparkvision.sinks import format_for, write_table
from sparkvision.sinks.tables import check_writable, read_table

FAILED = "_failed"
FAILED_SCHEMA = "path string, error string, error_kind string"


@dataclass(frozen=True)
class DedupJob:
    inputs: tuple[str, ...]
    out: str
    format: str | None = None
    threshold: float = DEFAULT_THRESHOLD
    vectors: str | None = None
    model: ModelRequest = field(default_factory=lambda: ModelRequest("embedding", "embed"))
    spark: SparkOptions = field(default_factory=SparkOptions)
    extensions: tuple[str, ...] | None = None
    path_col: str | None = None
    overwrite: bool = False
    move_to: str | None = None
    dry_run: bool = False
    method: str = "banded"

    def __post_init__(self) -> None:
        if self.model.task != "embed":
            object.__setattr__(self, "model", self.model.with_(task="embed"))
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"`threshold` is a cosine in (0, 1]; found {self.threshold}")
        if not self.inputs and not self.vectors:
            raise ConfigError("dedup needs photos (folders, globs, files) or `vectors` "
                              "with an earlier embed output; found neither")
        if self.dry_run and not self.move_to:
            raise ConfigError("`dry_run` shows what `move_to` would move: "
                              "pass `move_to` DIR too")
        if self.method not in METHODS:
            raise ConfigError(f"`method` must be one of {', '.join(METHODS)}; found "
                              f"{self.method!r}")


def run_dedup(job: DedupJob, spark=None) -> DedupSummary:
    """Run ``job`` and return its summary (also written as ``OUT/_summary.json``)."""
    from sparkvision.dedup.components import connected_components, materialise
    from sparkvision.dedup.files import with_file_facts
    from sparkvision.dedup.lsh import LshParams, near_pairs, normalised
    from sparkvision.dedup.stages import (
        attach_vectors,
        distinct_contents,
        embed_missing,
        failures,
        grouped_ids,
        groups_table,
    )
    from sparkvision.runtime.session import default_parallelism, open_session

    fmt = format_for(job.out, job.format)
    check_writable(job.out, "overwrite" if job.overwrite else "errorifexists")
    spark = spark or open_session(job.spark, batch_size=job.model.batch_size)
    clock = _Clock()
    vectors = _read_vectors(spark, job.vectors) if job.vectors else None
    files = materialise(with_file_facts(_input_paths(spark, job, vectors),
                                        storage=job.spark.storage))
    contents = distinct_contents(files)
    if vectors is not None:
        contents = attach_vectors(files, contents, vectors)
    clock.lap("files")
    contents, to_embed = embed_missing(contents, _embedder(job, spark), job.model.batch_size,
                                       default_parallelism(spark))
    contents = materialise(contents)
    units = materialise(normalised(contents.where("embedding is not null"))
                        .select("id", "e"))
    dim = _dimension(units)
    clock.lap("embeddings")
    pairs = materialise(near_pairs(units, job.threshold, dim=dim, method=job.method,
                                   params=LshParams()))
    clock.lap("pairs")
    grouped, rounds = grouped_ids(pairs, contents, connected_components)
    clock.lap("components")
    table = groups_table(files, contents, units, grouped)
    write_table(table, job.out, fmt, mode="overwrite" if job.overwrite else "errorifexists")
    write_table(failures(files, contents), os.path.join(job.out, FAILED), "json",
                mode="overwrite")
    clock.lap("write")
    summary = _summarise(spark, job, fmt, files, clock.total(), rounds, to_embed)
    summary.stage_seconds = clock.laps
    if job.move_to:
        from sparkvision.dedup.move import move_duplicates

        summary.moved_to = job.move_to
        summary.move_counts = move_duplicates(read_table(spark, job.out, fmt), job.move_to,
                                              dry_run=job.dry_run)
    if os.path.isdir(job.out):
        with open(os.path.join(job.out, "_summary.json"), "w", encoding="utf-8") as fh:
            fh.write(summary.to_json())
    return summary


class _Clock:
    """Seconds spent in each stage (each ends with its result materialised)."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round(now - self.last, 2)
        self.last = now

    def total(self) -> float:
        return time.monotonic() - self.start


def read_failed(spark, out: str):
    """The failed files of a dedup output: ``path``, ``error``, ``error_kind``."""
    return spark.read.schema(FAILED_SCHEMA).json(os.path.join(out, FAILED))


def _input_paths(spark, job: DedupJob, vectors):
    """A ``path`` frame of the inputs: the listed photos, else every path in --vectors."""
    from sparkvision.runtime.session import is_connect
    from sparkvision.sources import list_inputs, paths_frame

    if job.inputs:
        paths = list_inputs(job.inputs, extensions=job.extensions, path_col=job.path_col,
                            session=lambda: spark, connect=is_connect(spark),
                            storage=job.spark.storage)
        return paths_frame(spark, paths, rows_per_partition=8 * job.model.batch_size)
    return vectors.select("path").where("path is not null").distinct()


def _read_vectors(spark, path: str):
    from sparkvision.errors import InputError

    if not os.path.exists(path) and "://" not in path:
        raise InputError(f"`vectors` '{path}' does not exist: expected the `out` of an "
                         "earlier 'sparkvision embed' run")
    frame = read_table(spark, path, format_for(path, None))
    missing = {"path", "embedding", "error"} - set(frame.columns)
    if missing:
        raise InputError(
            f"`vectors` '{path}' is not an embed output: expected columns path, embedding, "
            f"error; found {', '.join(frame.columns)}. Make it with 'sparkvision embed'")
    if dict(frame.dtypes)["embedding"] == "string":  # CSV keeps arrays as JSON text
        from pyspark.sql import functions as F

        frame = frame.withColumn("embedding", F.from_json("embedding", "array<float>"))
    return frame


def _embedder(job: DedupJob, spark):
    """Embeddings for a frame of paths; the model is prepared (resolved, shipped, the
    workers probed) only when some image has no vector yet."""
    from sparkvision.jobs.pipeline import apply_model
    from sparkvision.jobs.prepare import prepare_model

    def run(frame, path_col: str):
        spec = prepare_model(job.model, spark)
        return apply_model(frame, spec, batch_size=job.model.batch_size, path_col=path_col,
                           storage=job.spark.storage)

    return run


def _dimension(units) -> int:
    from pyspark.sql import functions as F

    first = units.select(F.size("e").alias("n")).first()
    return int(first["n"]) if first else 1


def _summarise(spark, job: DedupJob, fmt: str, files, seconds: float, rounds: int,
               embedded: int) -> DedupSummary:
    from pyspark.sql import functions as F

    from sparkvision.runtime.session import DEFAULT_MASTER

    table = read_table(spark, job.out, fmt)
    failed = read_failed(spark, job.out)
    kinds = {r[0] or "unknown": r[1] for r in failed.groupBy("error_kind").count().collect()}
    inputs = files.count()
    stats = table.agg(
        F.countDistinct("group").alias("groups"),
        F.sum(F.when(~F.col("keeper"), 1).otherwise(0)).alias("duplicates"),
        F.sum(F.when(~F.col("keeper") & (F.col("kind") == "exact"), 1).otherwise(0)).alias("exact"),
        F.countDistinct(F.when(F.col("keeper") & (F.col("kind") == "exact"), F.col("group")))
        .alias("exact_groups"),
    ).first()
    duplicates = stats["duplicates"] or 0
    return DedupSummary(
        inputs=inputs, ok=inputs - sum(kinds.values()), failed=sum(kinds.values()),
        failed_by_kind=kinds, groups=stats["groups"] or 0, exact_groups=stats["exact_groups"] or 0,
        duplicates=duplicates, exact=stats["exact"] or 0, near=duplicates - (stats["exact"] or 0),
        threshold=job.threshold, seconds=round(seconds, 3),
        images_per_s=round(inputs / seconds, 2) if seconds else 0.0, output=job.out, format=fmt,
        model=str(job.model.model), method=job.method, rounds=rounds, embedded=embedded,
        vectors=job.vectors, engine=job.model.engine, batch_size=job.model.batch_size,
        precision=job.model.options.precision,
        master=job.spark.master or job.spark.remote or DEFAULT_MASTER,
    )
