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

Best effort: a warm-up that fails (a model the workers cannot build, a task lost) changes
nothing else; the model pass then meets the same problem and reports it as it always
has, per image or as a failed run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pandas as pd

from sparkvision.config import ModelSpec
from sparkvision.runtime.session import default_parallelism, session_key

log = logging.getLogger(__name__)

#: warm-up tasks per job at most (one per core)
MAX_TASKS = 512

_warm: set[tuple[Any, ...]] = set()


def warm_workers(spark: Any, spec: ModelSpec, batch_size: int) -> list[str]:
    """Build ``spec``'s engine and run one batch of ``batch_size`` images in each of
    ``spark``'s Python workers (one task per core). Returns the problems the tasks met
    (empty when every worker is warm); a no-op after the first success for the same
    session, model and batch size."""
    key = (session_key(spark), spec.model_id, batch_size)
    if key in _warm:
        return []
    tasks = min(MAX_TASKS, default_parallelism(spark))
    try:
        rows = (spark.range(0, tasks, 1, tasks)
                .select(_warm_udf(spec, batch_size)("id").alias("problem")).collect())
    except Exception as exc:  # noqa: BLE001 - best effort: the model pass reports it
        problems = [f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"]
    else:
        problems = list(dict.fromkeys(r["problem"] for r in rows if r["problem"]))
    if problems:
        log.info("the workers could not warm up %s: %s", spec.name, "; ".join(problems))
    else:
        _warm.add(key)
    return problems


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
