"""The one place that wires source -> model UDF -> sink, and reports on the run.

:func:`apply_model` adds predictions to any DataFrame of images (the library path);
:func:`run_job` is the whole command-line job: list inputs, predict on Spark, write the
table, then summarise, score against true labels and sort into folders from what was
written (so the model runs once per image).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .config import DEFAULT_BATCH_SIZE, DEFAULT_EXECUTION, EXECUTIONS, ModelSpec
from .errors import ConfigError
from .models import resolve_model
from .report import Progress, RunSummary
from .resume import (
    check_run_info,
    clean_incomplete,
    default_chunk_size,
    done_paths,
    pending,
    plan_chunks,
    run_info,
    write_run_info,
)
from .sinks import format_for, sort_into, write_table
from .sinks.tables import read_table
from .sources import input_column, label_from_path, paths_frame, resolve_inputs
from .spark import get_session, task_cpus
from .udfs import make_udf

RESULT = "_sparkvision"


@dataclass(frozen=True)
class Job:
    """Everything one ``sparkvision classify|embed`` run needs."""

    task: str
    inputs: tuple[str, ...]
    out: str
    format: str | None = None
    model: str = "catdog"
    engine: str = "onnx"
    batch_size: int = DEFAULT_BATCH_SIZE
    threads: int | None = None
    master: str | None = None
    label_from: str | None = None
    sort_into: str | None = None
    sort_mode: str = "copy"
    extensions: tuple[str, ...] | None = None
    path_col: str | None = None
    overwrite: bool = False
    quiet: bool = False
    execution: str = DEFAULT_EXECUTION
    resume: bool = False
    chunk_size: int | None = None  # images per committed chunk; None: default, 0: one chunk
    #: (key, value) pairs for a user's model: card keys and run options, see models/byo.py
    model_options: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        if self.task not in ("classify", "embed"):
            raise ConfigError(f"task must be 'classify' or 'embed'; found {self.task!r}")
        if self.execution not in EXECUTIONS:
            raise ConfigError(
                f"--execution must be one of {', '.join(EXECUTIONS)}; found {self.execution!r}"
            )
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be >= 1; found {self.batch_size}")
        if self.sort_into and self.task != "classify":
            raise ConfigError("--sort-into needs labels: use it with classify, not embed")
        if self.resume and self.overwrite:
            raise ConfigError(
                "--resume keeps what --out holds and --overwrite deletes it: pass only one"
            )
        if self.resume and self.execution == "python":
            raise ConfigError(
                "--resume needs a Spark execution (iterator, pandas or udf): the python "
                "execution commits its output once, at the end, so a killed run leaves "
                "nothing to resume from"
            )
        if self.chunk_size is not None and self.chunk_size < 0:
            raise ConfigError(f"--chunk-size must be >= 0 (0: one chunk); found {self.chunk_size}")


def apply_model(df, spec: ModelSpec, *, batch_size: int = DEFAULT_BATCH_SIZE,
                path_col: str | None = None, content_col: str | None = None,
                execution: str = DEFAULT_EXECUTION, udf=None):
    """``df`` plus the model's result columns; image bytes are not carried to the output.

    ``execution`` picks the UDF: ``iterator`` (default), ``pandas`` or ``udf``; ``udf``
    reuses one made earlier by :func:`~sparkvision.udfs.make_udf` (one per job, not per chunk).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType

    column = input_column(df, path_col=path_col, content_col=content_col)
    if udf is None:
        udf = make_udf(df.sparkSession, spec, execution=execution, batch_size=batch_size)
    keep = [f.name for f in df.schema.fields if not isinstance(f.dataType, BinaryType)]
    return df.withColumn(RESULT, udf(F.col(column))).select(*keep, f"{RESULT}.*")


def run_job(job: Job) -> RunSummary:
    """Run a whole job and return its summary (also written as ``_summary.json``)."""
    paths = resolve_inputs(job.inputs, extensions=job.extensions, path_col=job.path_col)
    labels = [label_from_path(p, job.label_from) for p in paths] if job.label_from else None
    fmt = format_for(job.out, job.format)
    if job.execution == "python":
        from .local import run_local

        return run_local(job, paths, labels, fmt)
    spark = job_session(job)
    skipped = 0
    if job.resume:
        before = len(paths)
        paths, labels = resume_inputs(spark, job, paths, labels, fmt)
        skipped = before - len(paths)
    seconds = predict_to_table(spark, job, paths, labels, fmt)
    return summarise(spark, job, fmt, seconds, skipped=skipped)


def resume_inputs(spark, job: Job, paths: list[str], labels: list[str | None] | None,
                  fmt: str) -> tuple[list[str], list[str | None] | None]:
    """For ``--resume``: clear what a killed run left uncommitted in ``job.out`` and
    return the inputs (and labels) that are not in it yet. See :mod:`sparkvision.resume`."""
    check_run_info(job.out, run_info(job.task, job.model, fmt, labels is not None))
    clean_incomplete(spark, job.out, fmt)
    return pending(paths, labels, done_paths(spark, job.out, fmt))


def job_session(job: Job):
    """The SparkSession a job runs on, with Arrow batches sized for its model batches."""
    return get_session(
        job.master,
        conf={"spark.sql.execution.arrow.maxRecordsPerBatch": str(max(4 * job.batch_size, 64))},
    )


def predict_to_table(spark, job: Job, paths: list[str], labels: list[str | None] | None,
                     fmt: str) -> float:
    """Predict for ``paths`` on Spark with ``job.execution`` and write ``job.out``;
    returns the seconds it took.

    The inputs are written in chunks of ``job.chunk_size`` images, each its own committed
    Spark job appending to ``job.out``, so a killed run keeps every finished chunk and
    ``--resume`` redoes only the rest (see :mod:`sparkvision.resume`).
    """
    spec = resolve_model(job.model, task=job.task, engine=job.engine,
                         threads=job.threads or task_cpus(spark), spark=spark,
                         **dict(job.model_options))
    # 8 model batches per task: each task pays a fixed cost (the UDF unpickled, the worker's
    # import caches invalidated, a part file opened and committed); with 4 batches per task
    # that cost was ~9% of the CPU time per image, with 8 it is ~2% (docs/benchmarks.md).
    per_partition = 8 * job.batch_size
    size = job.chunk_size
    if size is None:
        size = default_chunk_size(spark.sparkContext.defaultParallelism, per_partition)
    udf = make_udf(spark, spec, execution=job.execution, batch_size=job.batch_size)
    info = run_info(job.task, job.model, fmt, labels is not None)

    base = f"sparkvision-{uuid.uuid4().hex[:8]}"
    sc = spark.sparkContext
    progress = {"done": 0, "chunk": lambda: 0}
    started = time.monotonic()
    try:
        with Progress(len(paths), lambda: progress["done"] + progress["chunk"](),
                      enabled=not job.quiet):
            for number, (lo, hi) in enumerate(plan_chunks(len(paths), size)):
                group = f"{base}-{number}"
                sc.setJobGroup(group, f"sparkvision {job.task}: images {lo + 1}-{hi} of "
                               f"{len(paths)}", interruptOnCancel=True)
                progress["chunk"] = _tasks_progress(sc, group, hi - lo)
                frame = paths_frame(spark, paths[lo:hi],
                                    labels=labels[lo:hi] if labels is not None else None,
                                    rows_per_partition=per_partition)
                result = apply_model(frame, spec, batch_size=job.batch_size, path_col="path",
                                     execution=job.execution, udf=udf)
                if number > 0 or job.resume:
                    mode = "append"
                else:
                    mode = "overwrite" if job.overwrite else "errorifexists"
                write_table(result, job.out, fmt, mode=mode)
                if number == 0:
                    write_run_info(job.out, info)
                progress["done"] += hi - lo
                progress["chunk"] = lambda: 0
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return time.monotonic() - started


def summarise(spark, job: Job, fmt: str, seconds: float, *, skipped: int = 0) -> RunSummary:
    """Count, score and sort from the written table (no second model pass).

    ``skipped`` images were already in the output (``--resume``): they count in the
    totals but not in this run's throughput."""
    from pyspark.sql import functions as F

    written = read_table(spark, job.out, fmt)
    kinds = {
        row["error_kind"]: row["count"]
        for row in written.groupBy("error_kind").count().collect()
    }
    ok = kinds.pop(None, 0)
    failed = sum(kinds.values())
    summary = RunSummary(
        inputs=ok + failed, ok=ok, failed=failed, failed_by_kind=kinds,
        seconds=round(seconds, 3),
        images_per_s=round((ok + failed - skipped) / seconds, 2) if seconds else 0.0,
        output=job.out, format=fmt, resumed=skipped,
    )
    if job.label_from and job.task == "classify":
        pairs = (
            written.where(F.col("error").isNull() & F.col("label_true").isNotNull())
            .groupBy("label_true", "label").count().collect()
        )
        summary.set_confusion((row["label_true"], row["label"], row["count"]) for row in pairs)
    return finish_summary(summary, job, lambda: (
        (r["path"], r["label"]) for r in written.select("path", "label").toLocalIterator()
    ))


def finish_summary(summary: RunSummary, job: Job, rows: Callable[[], Iterable]) -> RunSummary:
    """Sort the images when the job asks for it (``rows()`` gives the ``(path, label)``
    pairs read back from the written table) and write ``_summary.json`` into the output."""
    if job.sort_into:
        report = sort_into(rows(), job.sort_into, mode=job.sort_mode)
        summary.sorted_into = job.sort_into
        summary.sort_counts = report.counts
    if os.path.isdir(job.out):
        with open(os.path.join(job.out, "_summary.json"), "w", encoding="utf-8") as fh:
            fh.write(summary.to_json())
    return summary


def _tasks_progress(sc, group: str, total: int):
    """Images done, estimated from finished tasks of the job group (equal partitions)."""
    tracker = sc.statusTracker()

    def poll() -> int:
        done = tasks = 0
        for job_id in tracker.getJobIdsForGroup(group):
            info = tracker.getJobInfo(job_id)
            for stage_id in info.stageIds if info else ():
                stage = tracker.getStageInfo(stage_id)
                if stage:
                    done += stage.numCompletedTasks
                    tasks += stage.numTasks
        return int(total * done / tasks) if tasks else 0

    return poll
