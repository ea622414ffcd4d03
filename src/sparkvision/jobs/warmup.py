"""Warm workers: the model built and one model batch run in every Python worker before the job.

A Python worker's first task pays for things no later task pays for: importing pandas,
pyarrow and sparkvision's batch code, building the engine, and a first model batch that
costs two to four times a later one (the engine's memory arena grows, and every page of it
is touched for the first time). On 2,000 photos and 2 cores that was about 2.5 s per
worker inside the model pass. :func:`warm_workers` runs it once per core right after the
probe (:func:`sparkvision.runtime.workers.check_workers`): one task per core, each
building the engine through the same per-process cache the model pass uses
(:mod:`sparkvision.executor.cache`) and running one batch of ``batch_size`` grey images
through the same preprocessing. Spark keeps those Python workers for the job that
follows.

With ``write`` (a run that writes a table) and a session whose jobs run on this machine,
the warm-up job also has the model pass's shape: one path per task, parallelized the
same way (:func:`sparkvision.sources.frames.paths_frame`), written as Parquet to a
temporary folder that the driver reads back (with pyarrow, no second job) and deletes.
The JVM's first file write (its writer classes loaded, its code not yet compiled) and
its first parallelized rows cost the model pass's first tasks 0.75-1.2 s before any
image reached Python, on 2 cores both idle; paid here, inside the warm-up job that the
Python workers take seconds over anyway, the model pass of 2,000 photos was 1.6 s
shorter and the whole run 0.3 s (docs/benchmarks.md). Elsewhere (a cluster, whose
executors do not see this machine's temporary folder, or Spark Connect) the warm-up
collects its few rows instead.

Best effort: a warm-up that fails (a model the workers cannot build, a task lost) changes
nothing else; the model pass then meets the same problem and reports it as it always
has, per image or as a failed run.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pandas as pd

from sparkvision.config import ModelSpec
from sparkvision.runtime.session import default_parallelism, jobs_write_here, session_key

log = logging.getLogger(__name__)

#: warm-up tasks per job at most (one per core)
MAX_TASKS = 512

_warm: set[tuple[Any, ...]] = set()


def warm_workers(spark: Any, spec: ModelSpec, batch_size: int, *,
                 write: bool = False) -> list[str]:
    """Build ``spec``'s engine and run one batch of ``batch_size`` images in each of
    ``spark``'s Python workers (one task per core); with ``write``, by a job shaped like
    the model pass where that job's files are seen here
    (:func:`sparkvision.runtime.session.jobs_write_here`). Returns the
    problems the tasks met (empty when every worker is warm); a no-op after the first
    success for the same session, model, batch size and ``write``."""
    write = write and jobs_write_here(spark)
    key = (session_key(spark), spec.model_id, batch_size, write)
    if key in _warm:
        return []
    tasks = min(MAX_TASKS, default_parallelism(spark))
    try:
        found = (_written_problems(spark, spec, batch_size, tasks) if write else
                 [r["problem"] for r in spark.range(0, tasks, 1, tasks)
                  .select(_warm_udf(spec, batch_size)("id").alias("problem")).collect()])
    except Exception as exc:  # noqa: BLE001 - best effort: the model pass reports it
        problems = [f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"]
    else:
        problems = list(dict.fromkeys(p for p in found if p))
    if problems:
        log.info("the workers could not warm up %s: %s", spec.name, "; ".join(problems))
    else:
        _warm.add(key)
    return problems


def _written_problems(spark: Any, spec: ModelSpec, batch_size: int, tasks: int) -> list[Any]:
    """The warm-up as a job shaped like the model pass: one path per task through
    ``paths_frame``, the warm UDF, a Parquet write; its rows read back with pyarrow."""
    import pyarrow.parquet as pq

    from sparkvision.sources.frames import paths_frame

    with tempfile.TemporaryDirectory(prefix="sparkvision-warm-") as folder:
        out = os.path.join(folder, "warm")
        frame = paths_frame(spark, [f"warm-up-{i}" for i in range(tasks)],
                            rows_per_partition=1)
        (frame.select(_warm_udf(spec, batch_size)("path").alias("problem"))
         .write.parquet(out))
        return pq.read_table(out, columns=["problem"]).column("problem").to_pylist()


def _warm_udf(spec: ModelSpec, batch_size: int) -> Any:
    from pyspark.sql.functions import pandas_udf

    def warm(ids: Iterator[pd.Series]) -> Iterator[pd.Series]:
        from sparkvision.jobs.warmup import warm_batch

        for chunk in ids:
            yield pd.Series([warm_batch(spec, batch_size)] * len(chunk), dtype="object")

    return pandas_udf(warm, returnType="string")  # type: ignore[call-overload]


def warm_batch(spec: ModelSpec, batch_size: int) -> str | None:
    """Worker side: build (or find) the engine and run one batch of grey images through
    the model's preprocessing and the engine; the problem met as text, else None."""
    try:
        import numpy as np

        from sparkvision.executor.cache import get_engine
        from sparkvision.imaging import prepare_batch

        engine = get_engine(spec)
        side = 2 * spec.preprocess.size  # larger than the input: the resize runs too
        grey = np.full((side, side, 3), 128, dtype=np.uint8)
        batch, _, failed = prepare_batch([grey] * batch_size, spec.preprocess)
        if failed:
            raise next(iter(failed.values()))
        engine(batch)
    except Exception as exc:  # noqa: BLE001 - reported to the driver, never raised
        return f"{type(exc).__name__}: {exc}"
    return None
