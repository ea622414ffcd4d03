"""The scalar Pandas UDF path: ``pd.Series -> pd.DataFrame``, one Arrow batch per call.

Spark calls the function once per Arrow batch
(``spark.sql.execution.arrow.maxRecordsPerBatch`` rows), and each call looks the engine up
in the per-process cache (a hit after the first batch of the worker) and runs
:func:`sparkvision.executor.predict_frame` on the batch. Unlike the iterator UDF there is
no per-task state: the lookup happens once per batch instead of once per task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from sparkvision.config import ModelSpec
from sparkvision.models.heads import SCHEMAS
from sparkvision.runtime.progress import ProgressTarget
from sparkvision.udfs.iterator import Batch


def scalar_udf(spec: ModelSpec, *, batch_size: int, progress: ProgressTarget | None = None,
               storage: Mapping[str, Any] | None = None):
    """Build the UDF for ``spec``; the closure holds only the spec, the batch size, where
    to report finished images (``progress``, optional) and the fsspec ``storage`` options
    for object-store URIs."""
    from pyspark.sql.functions import pandas_udf

    from sparkvision.executor.runner import predict_frame
    from sparkvision.udfs.inputs import batch_items

    on_batch = progress.report if progress is not None else None

    def predict(batch: Batch) -> pd.DataFrame:
        return predict_frame(batch_items(batch), spec, batch_size=batch_size, on_batch=on_batch,
                             storage=storage)

    return pandas_udf(predict, returnType=SCHEMAS[spec.head])  # type: ignore[call-overload]
