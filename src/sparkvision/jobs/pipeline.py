"""The one place that wires source -> model UDF -> sink, and reports on the run.

:func:`apply_model` adds predictions to any DataFrame of images (the library path);
:func:`run_job` is the whole command-line job: list inputs, resolve the model, predict
(on Spark, or in this process for the ``python`` execution), write the table, then
summarise, score against true labels and sort into folders from what was written (so
the model runs once per image).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sparkvision.config import DEFAULT_BATCH_SIZE, DEFAULT_EXECUTION, ModelSpec
from sparkvision.errors import ConfigError
from sparkvision.imaging.preprocess import decode_side
from sparkvision.jobs.finish import finish_summary, new_summary, summarise
from sparkvision.jobs.prepare import prepare_model
from sparkvision.jobs.resume import (
    check_run_info,
    clean_incomplete,
    default_chunk_size,
    done_frame,
    done_paths,
    hash_chunks,
    pending,
    plan_chunks,
    run_info,
    write_run_info,
)
from sparkvision.jobs.summary import Progress, RunSummary
from sparkvision.options import ModelRequest, RunConfig
from sparkvision.runtime.progress import ChunkProgress, report_host
from sparkvision.runtime.session import default_parallelism, open_session, will_connect
from sparkvision.runtime.timing import add_workers, phase, timed
from sparkvision.runtime.workers import worker_setup_error
from sparkvision.sinks import format_for, write_table
from sparkvision.sinks.store_sort import check_store_target
from sparkvision.sources import input_column, label_from_path, list_inputs, paths_frame
from sparkvision.sources.list_frames import (
    FirstPaths,
    InputTable,
    hash_chunk_frames,
    input_table,
    list_file,
    spark_reads_here,
)
from sparkvision.sources.spark_images import is_image_struct
from sparkvision.storage.files import absolute_path
from sparkvision.storage.listing import check_found, read_path_list
from sparkvision.storage.uris import HADOOP_SCHEMES, scheme
from sparkvision.udfs import make_udf

RESULT = "_sparkvision"
#: model batches per Spark task, at most: each task pays a fixed cost around the model
#: (PySpark's runner and the worker's set-up, a part file opened and committed: 40-50 ms of
#: wall time on 2 cores, scripts/measure_task_cost.py). Tasks of one job hold equal bytes
#: of input and come in waves of one per core (sources/frames.py), so larger ones leave no
#: core idle at the end; 32 batches (1,024 images at the default 32) keep enough tasks for
#: progress and retries (docs/benchmarks.md).
BATCHES_PER_TASK = 32


def apply_model(df: Any, spec: ModelSpec, *, batch_size: int = DEFAULT_BATCH_SIZE,
                path_col: str | None = None, content_col: str | None = None,
                execution: str = DEFAULT_EXECUTION, output_col: str | None = None,
                udf: Any = None, storage: Mapping[str, Any] | None = None) -> Any:
    """``df`` plus the model's results; image bytes are not carried to the output.

    With ``output_col`` the results are one struct column of that name; without, its
    fields (``label``, ``score``, ..., ``error``, ``error_kind``) are added as columns,
    and a name ``df`` already has is refused rather than overwritten. ``execution`` picks
    the UDF (``iterator``, ``pandas`` or ``udf``); ``udf`` reuses one made earlier (one per
    job, not per chunk); ``storage``: fsspec options for object-store paths. An image
    struct (Spark's ``image`` source) is replaced by ``path``, its ``origin``.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType

    column = input_column(df, path_col=path_col, content_col=content_col)
    if udf is None:
        udf = make_udf(spec, execution=execution, batch_size=batch_size, storage=storage)
    keep = [f.name for f in df.schema.fields
            if not isinstance(f.dataType, BinaryType) and not is_image_struct(f.dataType)]
    origin = []
    if is_image_struct(df.schema[column].dataType):
        if "path" in keep:
            raise ConfigError(
                f"the DataFrame has a 'path' column and an image column {column!r} whose "
                "origin becomes 'path' in the result; drop or rename one of them"
            )
        origin = [F.col(column).getField("origin").alias("path")]
    _check_free(keep, [output_col] if output_col else result_fields(spec), output_col)
    result = df.withColumn(RESULT, udf(F.col(column)))
    if output_col:
        return result.select(*origin, *keep, F.col(RESULT).alias(output_col))
    return result.select(*origin, *keep, f"{RESULT}.*")


def result_fields(spec: ModelSpec) -> list[str]:
    from sparkvision.executor import result_columns

    return result_columns(spec.head)


def _check_free(existing: Sequence[str], added: Sequence[str], output_col: str | None) -> None:
    taken = [name for name in added if name in existing]
    if not taken:
        return
    if output_col:
        raise ConfigError(
            f"the DataFrame already has a column {output_col!r}; pass another output_col"
        )
    raise ConfigError(
        f"the DataFrame already has column(s) {', '.join(taken)}, which the results would "
        "overwrite; pass output_col='pred' to get the results as one struct column, or "
        "rename those columns first"
    )


@timed
def run_job(inputs: str | Sequence[str], model: ModelRequest, run: RunConfig, *,
            extensions: Iterable[str] | None = None,
            path_col: str | None = None) -> RunSummary:
    """Run a whole job and return its summary (also written as ``_summary.json``)."""
    check_destinations(run)
    run = replace(run, out=absolute_path(run.out))
    if run.sort_into and model.task != "classify":
        raise ConfigError("`sort_into` needs labels: use it with classify, not embed")
    fmt = format_for(run.out, run.format)
    if run.execution == "python":
        with phase("listing"):
            paths = list_inputs(inputs, extensions=extensions, path_col=path_col,
                                storage=run.spark.storage)
        return _run_python(model, run, paths, _labels(paths, run), fmt)
    # inputs here are listed before the session starts (a typo costs no JVM); object-store
    # prefixes and folders only the cluster sees are listed by its tasks
    session = functools.cache(
        lambda: open_session(run.spark, batch_size=model.batch_size, model_pass=True))
    with phase("listing"):
        listed = _spark_inputs(inputs, run, session, extensions=extensions, path_col=path_col)
    if isinstance(listed, InputTable):
        return run_table(session(), model, run, fmt, listed, lambda: check_found(
            (), inputs, extensions))
    paths = listed
    labels = _labels(paths, run)
    spark = session()
    spec = prepare_model(model, spark, execution=run.execution, inputs=paths, writes=True)
    info = run_info(model.task, spec.name, fmt, labels is not None, spec.preprocess.decode)
    skipped = 0
    if run.resume:
        before = len(paths)
        paths, labels = resume_inputs(spark, run, info, paths, labels, fmt)
        skipped = before - len(paths)
    seconds = predict_to_table(spark, spec, run, paths, labels, fmt, info=info,
                               batch_size=model.batch_size)
    return summarise(spark, run, fmt, seconds, skipped=skipped)


def _spark_inputs(inputs: str | Sequence[str], run: RunConfig, session: Callable[[], Any], *,
                  extensions: Iterable[str] | None,
                  path_col: str | None) -> list[str] | InputTable:
    """The inputs of a Spark run: a sorted list of paths, or, when some are path-list files
    the session's jobs can read, a table Spark holds (a list file of any length)."""
    items = [inputs] if isinstance(inputs, str) else list(inputs)
    lists = [item for item in items if list_file(item)]
    others = [item for item in items if item not in lists]
    paths = list_inputs(others, extensions=extensions, path_col=path_col, session=session,
                        connect=will_connect(run.spark), storage=run.spark.storage,
                        require=not lists) if others or not lists else []
    if not lists:
        return paths
    files = [str(list_file(item)) for item in lists]
    if spark_reads_here(session()):
        return input_table(session(), files, paths, path_col=path_col,
                           label_from=run.label_from)
    return check_found([*paths, *(p for f in files for p in read_path_list(f, path_col))],
                       inputs, extensions)


def run_table(spark: Any, model: ModelRequest, run: RunConfig, fmt: str, table: InputTable,
              none_found: Callable[[], Any]) -> RunSummary:
    """:func:`run_job` for inputs held by Spark (:mod:`sparkvision.sources.list_frames`):
    the model prepared with the first paths, ``--resume`` by a left-anti join on ``path``
    against the committed rows, chunks by a hash of the path. ``none_found()`` raises the
    error for a table without rows."""
    frame = table.frame
    try:
        if not table.total:
            none_found()
        spec = prepare_model(model, spark, execution=run.execution,
                             inputs=FirstPaths(table.first, table.total), writes=True)
        info = run_info(model.task, spec.name, fmt, bool(run.label_from),
                        spec.preprocess.decode)
        total = table.total
        if run.resume:
            check_run_info(run.out, info, spark)
            clean_incomplete(spark, run.out, fmt)
            done = done_frame(spark, run.out, fmt)
            if done is not None:
                frame = frame.join(done, "path", "left_anti").cache()
                total = frame.count()
        seconds = predict_frame_to_table(spark, spec, run, frame, total, fmt, info=info,
                                         batch_size=model.batch_size)
    finally:
        if frame is not table.frame:
            frame.unpersist()
        table.close()
    return summarise(spark, run, fmt, seconds, skipped=table.total - total)


def check_destinations(run: RunConfig) -> None:
    """Refuse, before any job, outputs this version cannot write: ``out`` on an fsspec
    file system (Spark writes through Hadoop's: ``s3a://``, not ``s3://``) and
    a ``sort_into`` URI this cannot copy into."""
    kind = scheme(run.out)
    if kind not in ("", "file") and kind not in HADOOP_SCHEMES:
        hint = "s3a" if kind == "s3" else "a Hadoop scheme (s3a, gs, abfss, hdfs)"
        raise ConfigError(
            f"`out` {run.out}: Spark writes its tables through the cluster's Hadoop file "
            f"systems, which name this store {hint}://...; use that URI (with the cluster's "
            "connector), or a folder")
    if run.sort_into and scheme(run.sort_into) not in ("", "file"):
        check_store_target(run.sort_into, run.sort_mode)


def _labels(paths: list[str], run: RunConfig) -> list[str | None] | None:
    return [label_from_path(p, run.label_from) for p in paths] if run.label_from else None


def _run_python(model: ModelRequest, run: RunConfig, paths: list[str],
                labels: list[str | None] | None, fmt: str) -> RunSummary:
    from sparkvision.jobs.local import run_local
    from sparkvision.sinks.local import read_columns

    # one process: the engine may use every core
    spec = prepare_model(model.with_(threads=model.threads or os.cpu_count() or 1),
                         inputs=paths)
    counts = run_local(spec, run, paths, labels, fmt, batch_size=model.batch_size)
    summary = new_summary(dict(counts.kinds), counts.seconds, run, fmt)
    if counts.pairs:
        summary.set_confusion((t, p, n) for (t, p), n in counts.pairs.items())
    return finish_summary(summary, run, lambda: read_columns(run.out, fmt, ("path", "label")))


def resume_inputs(spark: Any, run: RunConfig, info: dict[str, Any], paths: list[str],
                  labels: list[str | None] | None,
                  fmt: str) -> tuple[list[str], list[str | None] | None]:
    """For ``--resume``: clear what a killed run left uncommitted in ``run.out`` and
    return the inputs (and labels) that are not in it yet. See :mod:`sparkvision.jobs.resume`."""
    check_run_info(run.out, info, spark)
    clean_incomplete(spark, run.out, fmt)
    return pending(paths, labels, done_paths(spark, run.out, fmt))


def predict_to_table(spark: Any, spec: ModelSpec, run: RunConfig, paths: list[str],
                     labels: list[str | None] | None, fmt: str, *,
                     info: Mapping[str, Any], batch_size: int = DEFAULT_BATCH_SIZE) -> float:
    """Predict for ``paths`` on Spark with ``run.execution``, ``batch_size`` images per model
    call, and write ``run.out``; returns the seconds it took.

    The inputs are written in chunks of ``run.chunk_size`` images (consecutive ones), each
    its own committed Spark job (:func:`write_chunks`).
    """
    per_partition = BATCHES_PER_TASK * batch_size
    size = _chunk_size(spark, run, per_partition)

    def chunks() -> Iterator[tuple[int, int, Any]]:
        for lo, hi in plan_chunks(len(paths), size):
            yield lo, hi, paths_frame(spark, paths[lo:hi],
                                      labels=labels[lo:hi] if labels is not None else None,
                                      rows_per_partition=per_partition,
                                      decode_side=decode_side(spec.preprocess))

    return write_chunks(spark, spec, run, fmt, len(paths), chunks(), info=info,
                        batch_size=batch_size)


def predict_frame_to_table(spark: Any, spec: ModelSpec, run: RunConfig, frame: Any,
                           total: int, fmt: str, *, info: Mapping[str, Any],
                           batch_size: int = DEFAULT_BATCH_SIZE) -> float:
    """:func:`predict_to_table` for ``total`` inputs held by Spark in ``frame`` (``path``,
    ``label_true`` with labels, and the path's hash): chunk ``k`` of ``n`` is the rows whose
    hash is ``k`` modulo ``n`` (:func:`sparkvision.jobs.resume.hash_chunks`), spread over
    about ``BATCHES_PER_TASK`` model batches per task."""
    per_partition = BATCHES_PER_TASK * batch_size
    count = hash_chunks(total, _chunk_size(spark, run, per_partition))
    rows, chunks = hash_chunk_frames(frame, count, cores=default_parallelism(spark),
                                     per_partition=per_partition)
    return write_chunks(spark, spec, run, fmt, rows, chunks, info=info, batch_size=batch_size)


def _chunk_size(spark: Any, run: RunConfig, per_partition: int) -> int:
    size = run.chunk_size
    return default_chunk_size(default_parallelism(spark), per_partition) if size is None else size


def write_chunks(spark: Any, spec: ModelSpec, run: RunConfig, fmt: str, total: int,
                 chunks: Iterable[tuple[int, int, Any]], *, info: Mapping[str, Any],
                 batch_size: int = DEFAULT_BATCH_SIZE) -> float:
    """Predict and write each of ``chunks`` (``(lo, hi, frame)``: inputs ``lo`` to ``hi``
    of ``total``) as its own committed Spark job appending to ``run.out``, so a killed run
    keeps every finished chunk and ``--resume`` redoes only the rest (see
    :mod:`sparkvision.jobs.resume`); returns the seconds it took. ``info`` is written
    beside the first chunk for ``--resume`` to check. The progress bar counts the images
    the workers finish (:mod:`sparkvision.runtime.progress`).
    """
    # the workers' datagrams also carry their stage times: listened to when quiet too
    progress = ChunkProgress(spark, total, report_host=report_host(spark))
    udf = make_udf(spec, execution=run.execution, batch_size=batch_size,
                   progress=progress.target, storage=run.spark.storage)
    started = time.monotonic()
    try:
        with phase("model_pass"), Progress(total, progress.done, enabled=not run.quiet):
            for number, (lo, hi, frame) in enumerate(chunks):
                progress.start(number, lo, hi)
                result = apply_model(frame, spec, batch_size=batch_size, path_col="path",
                                     execution=run.execution, udf=udf)
                write_table(result, run.out, fmt, mode=_write_mode(run, number))
                if number == 0:
                    write_run_info(run.out, dict(info), spark)
                progress.finish()
    except Exception as exc:
        translated = worker_setup_error(exc, spark)
        if translated is None:
            raise
        raise translated from exc
    finally:
        progress.close()  # after counting the datagrams already sent
        add_workers(progress.stage_seconds(), default_parallelism(spark))
    return time.monotonic() - started


def _write_mode(run: RunConfig, chunk: int) -> str:
    if chunk > 0 or run.resume:
        return "append"
    return "overwrite" if run.overwrite else "errorifexists"
