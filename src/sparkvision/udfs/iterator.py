"""sparkvision's own path: an iterator Pandas UDF.

``Iterator[pd.Series] -> Iterator[pd.DataFrame]``: the function runs once per task and
sees every Arrow batch of the partition, so the engine is looked up once (and built at
most once per Python worker process, see :mod:`sparkvision.executor.cache`) and each
Arrow batch is cut into model batches of ``batch_size`` images.

The input column holds image bytes (``binary``, e.g. Spark's ``binaryFile`` ``content``),
paths/URIs (``string``) or Spark's image struct (each batch then arrives as a pandas
DataFrame of its fields, see :mod:`sparkvision.udfs.inputs`); the output is a struct
with the head's result columns plus ``error`` and ``error_kind``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Union

import pandas as pd
from pyspark.sql.functions import pandas_udf

from sparkvision.config import ModelSpec
from sparkvision.models.heads import SCHEMAS
from sparkvision.runtime.progress import ProgressTarget

#: A column's batch: a Series, or a DataFrame for a struct column. typing.Union, not X | Y:
#: pyspark reads the hints to pick the UDF type and recognises only Union.
Batch = Union[pd.Series, pd.DataFrame]  # noqa: UP007


def iterator_udf(spec: ModelSpec, *, batch_size: int, progress: ProgressTarget | None = None,
                 storage: Mapping[str, Any] | None = None):
    """Build the UDF for ``spec``; the closure holds only the spec, the batch size, where
    to report finished images (``progress``, optional) and the fsspec ``storage`` options
    for object-store URIs."""
    from sparkvision.executor.runner import predict_frame
    from sparkvision.udfs.inputs import batch_items

    on_batch = progress.report if progress is not None else None

    def predict(batches: Iterator[Batch]) -> Iterator[pd.DataFrame]:
        # the time between two batches, outside this function (Arrow in and out, the JVM)
        # is the "arrow" stage; the last report carries what follows the last batch.
        # (Imported here: the closure is pickled by value, the clock holds a lock.)
        from sparkvision.runtime.timing import CLOCK

        batches = iter(batches)
        while True:
            with CLOCK.timed("arrow"):
                batch = next(batches, None)
            if batch is None:
                break
            frame = predict_frame(batch_items(batch), spec, batch_size=batch_size,
                                  on_batch=on_batch, storage=storage)
            with CLOCK.timed("arrow"):
                yield frame
        if on_batch is not None:
            on_batch(0)

    return pandas_udf(predict, returnType=SCHEMAS[spec.head])  # type: ignore[call-overload]
