"""Spark UDFs over the shared executor code, one module per execution mode.

==============  ===========================================================================
``iterator``    :func:`iterator_udf`: iterator Pandas UDF, engine looked up once per task
``pandas``      :func:`scalar_udf`: scalar Pandas UDF, ``Series -> DataFrame`` per batch
``udf``         :func:`row_udf`: row-at-a-time UDF (model file broadcast)
==============  ===========================================================================

All three call :func:`sparkvision.executor.predict_frame` and return the same struct.
Their argument is a binary column of image bytes, a string column of paths, or a Spark
image struct (``spark.read.format("image")``), which Arrow hands to the Pandas UDFs as a
pandas DataFrame per batch and the row UDF as a ``Row``: :func:`batch_items` turns a
batch into the runner's items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sparkvision.config import EXECUTIONS, ModelSpec
from sparkvision.errors import ConfigError
from sparkvision.runtime.progress import ProgressTarget
from sparkvision.udfs.inputs import batch_items
from sparkvision.udfs.iterator import iterator_udf
from sparkvision.udfs.row import row_udf
from sparkvision.udfs.scalar import scalar_udf

#: the executions that run on Spark (``python`` runs in one process)
SPARK_EXECUTIONS: tuple[str, ...] = tuple(e for e in EXECUTIONS if e != "python")

__all__ = ["SPARK_EXECUTIONS", "batch_items", "iterator_udf", "make_udf", "row_udf", "scalar_udf"]


def make_udf(spec: ModelSpec, *, execution: str = "iterator", batch_size: int,
             progress: ProgressTarget | None = None,
             storage: Mapping[str, Any] | None = None) -> Any:
    """The UDF of ``execution`` for ``spec``, reporting finished images to ``progress``;
    object-store URIs are read with the fsspec ``storage`` options."""
    if execution == "iterator":
        return iterator_udf(spec, batch_size=batch_size, progress=progress, storage=storage)
    if execution == "pandas":
        return scalar_udf(spec, batch_size=batch_size, progress=progress, storage=storage)
    if execution == "udf":
        return row_udf(spec, progress, storage)
    raise ConfigError(
        f"execution {execution!r} has no Spark UDF; expected one of {', '.join(SPARK_EXECUTIONS)} "
        "('python' runs without Spark: use it through run_job or the CLI)"
    )
