"""The row-at-a-time path: a plain PySpark UDF, one image per Python call.

This is how the first seed system ran its model on Spark, kept as an execution mode so
its cost can be measured against the Pandas UDFs on the same code:

- the engine file's bytes (the ONNX file, or the torch state-dict file) are sent to the
  executors once with ``sc.broadcast``; the closure holds only the small spec and the
  broadcast handle;
- inside a Python worker the engine is built from those bytes at most once per process,
  through the same cache as every other path (:func:`sparkvision.executor.get_engine`);
- each call runs :func:`sparkvision.executor.predict_frame` on a single image, so every
  row pays for one Python call, one pickled row each way and one model call of batch 1.
"""

from __future__ import annotations

from ..config import ModelSpec
from ..errors import ModelError
from ..models.heads import SCHEMAS


def engine_file(spec: ModelSpec) -> str:
    """The file whose bytes the driver broadcasts for ``spec``'s engine."""
    if spec.engine == "onnx":
        if spec.artifact:
            return spec.artifact
        from ..models.export import ensure_onnx

        return ensure_onnx()[0]
    if spec.engine == "torch":
        from ..models.builtin import weights_path

        return weights_path()
    raise ModelError(f"unknown engine {spec.engine!r}")


def broadcast_weights(spark, spec: ModelSpec):
    """Read the engine file on the driver and broadcast its bytes to the executors.

    None for a user's model: it reaches the workers its own way (``--ship``, see
    :mod:`sparkvision.models.shipping`)."""
    if spec.kind != "builtin":
        return None
    with open(engine_file(spec), "rb") as fh:
        return spark.sparkContext.broadcast(fh.read())


def row_udf(spec: ModelSpec, weights):
    """A row UDF for ``spec``; ``weights`` is the broadcast from :func:`broadcast_weights`.

    The result is the same struct as the Pandas UDFs return (``SCHEMAS[spec.head]``).
    """
    from pyspark.sql.functions import udf

    names = [field.split(" ", 1)[0] for field in SCHEMAS[spec.head].split(", ")]

    def predict_one(item):
        from ..executor.cache import get_engine
        from ..executor.runner import predict_frame
        from ..models.engines import build_engine

        get_engine(spec, lambda s: build_engine(s, weights.value if weights is not None else None))
        row = predict_frame([item], spec, batch_size=1).iloc[0]
        return tuple(_plain(row[name]) for name in names)

    return udf(predict_one, returnType=SCHEMAS[spec.head], useArrow=False)


def _plain(value):
    """Numpy values -> the Python objects a row UDF must return."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, float) and value != value:  # NaN: pandas' missing float
        return None
    return value
