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
from sparkvision.runtime.session import is_connect, task_cpus
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
       and one batch of ``request.batch_size`` run in each worker
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
            warm_workers(spark, spec, request.batch_size, write=writes)
    return spec

