"""Prepare the model for a run: resolve it, ship it to the session's workers, probe them.

Every way of running a model (classify, embed, train, dedup, watch, the Python API and
the ML stages) gets its :class:`~sparkvision.config.ModelSpec` from :func:`prepare_model`,
so a model reference, its options and the checks on the workers mean the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sparkvision.config import DEFAULT_EXECUTION, ModelSpec
from sparkvision.jobs.warmup import warm_workers
from sparkvision.models import resolve_model
from sparkvision.models.int8.calibration import first_inputs_by_default
from sparkvision.options import ModelRequest
from sparkvision.runtime.session import default_parallelism, is_connect, task_cpus
from sparkvision.runtime.shipping import SessionShipper
from sparkvision.runtime.timing import phase
from sparkvision.runtime.workers import check_workers


def prepare_model(request: ModelRequest, spark: Any = None, *,
                  execution: str = DEFAULT_EXECUTION, inputs: Sequence[str] = (),
                  probe: bool = True, writes: bool = False) -> ModelSpec:
    """The spec of ``request``, ready for ``spark``'s workers (``spark=None``: no session,
    files read by path, engine threads ``request.threads`` or 1).

    1. int8 on a user's model without ``calibrate``: calibrated on the first ``inputs``;
    2. resolved (:func:`sparkvision.models.resolve_model`) with engine threads of
       ``request.threads`` or ``spark.task.cpus``; the ``udf`` execution sends the model
       file from the driver (a broadcast, or an artifact under Spark Connect) unless
       ``ship`` says otherwise;
    3. with ``probe``, the workers' Python checked to import what the model needs
       (:func:`sparkvision.runtime.workers.check_workers`), then warmed: the model built
       and one batch run in each worker (:func:`warm_batch_size`)
       (:func:`sparkvision.jobs.warmup.warm_workers`; ``writes``: the run writes a table,
       and the warm-up job writes one too); both are the ``workers`` phase of the run's
       breakdown.
    """
    with phase("prepare"):
        return _prepare(request, spark, execution=execution, inputs=inputs, probe=probe,
                        writes=writes)


def _prepare(request: ModelRequest, spark: Any, *, execution: str, inputs: Sequence[str],
             probe: bool, writes: bool) -> ModelSpec:
    if inputs:
        request = first_inputs_by_default(request, inputs)
    options = request.options
    if execution == "udf" and options.ship == "auto":
        options = options.with_(ship="artifact" if spark is not None and is_connect(spark)
                                else "broadcast")
    local = spark is None
    spec = resolve_model(request.model, task=request.task, engine=request.engine,
                         threads=request.threads or (1 if local else task_cpus(spark)),
                         shipper=None if local else SessionShipper(spark),
                         **options.as_kwargs())
    if probe and not local:
        with phase("workers"):
            check_workers(spark, spec, execution)
            warm_workers(spark, spec, warm_batch_size(request.batch_size, len(inputs),
                                                      default_parallelism(spark)),
                         write=writes)
    return spec



def warm_batch_size(batch_size: int, inputs: int, cores: int) -> int:
    """The warm-up batch: the model pass's own ``batch_size``, but no more images than a
    core gets in a run of ``inputs`` (0: not known before the job) on ``cores``: a run of
    6 photos on 2 cores warms each worker with 3 grey images, not 32.

    >>> warm_batch_size(32, 6, 2), warm_batch_size(32, 2000, 2), warm_batch_size(32, 0, 2)
    (3, 32, 32)
    """
    if inputs <= 0:
        return batch_size
    return max(1, min(batch_size, -(-inputs // max(1, cores))))
