"""The row-at-a-time path: a plain PySpark UDF, one image per Python call.

Kept as an execution mode so the cost of the Pandas UDFs' batching can be measured on the
same code:

- the model file is sent to the executors once with a broadcast (the pipeline resolves
  the model with ``ship="broadcast"`` for this mode, see
  :mod:`sparkvision.runtime.shipping`); the closure holds only the small spec;
- inside a Python worker the engine is built at most once per process, through the same
  cache as every other path (:func:`sparkvision.executor.get_engine`);
- each call runs :func:`sparkvision.executor.predict_frame` on a single image, so every
  row pays for one Python call, one pickled row each way and one model call of batch 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sparkvision.config import ModelSpec
from sparkvision.models.heads import SCHEMAS
from sparkvision.runtime.progress import ProgressTarget


def row_udf(spec: ModelSpec, progress: ProgressTarget | None = None,
            storage: Mapping[str, Any] | None = None) -> Any:
    """A row UDF for ``spec``, returning the same struct as the Pandas UDFs
    (``SCHEMAS[spec.head]``); each image is reported to ``progress`` when given."""
    from pyspark.sql.functions import udf

    names = [field.split(" ", 1)[0] for field in SCHEMAS[spec.head].split(", ")]

    def predict_one(item: Any) -> tuple[Any, ...]:
        from sparkvision.executor.runner import predict_frame
        from sparkvision.udfs.inputs import row_value_item

        on_batch = progress.report if progress is not None else None
        row = predict_frame([row_value_item(item)], spec, batch_size=1,
                            on_batch=on_batch, storage=storage).iloc[0]
        return tuple(_plain(row[name]) for name in names)

    return udf(predict_one, returnType=SCHEMAS[spec.head], useArrow=False)


def _plain(value: Any) -> Any:
    """Numpy values -> the Python objects a row UDF must return."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, float) and value != value:  # NaN: pandas' missing float
        return None
    return value
