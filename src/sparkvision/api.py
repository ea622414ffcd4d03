"""The library API: predictions as Spark columns, inside the user's own job."""

from __future__ import annotations

from collections.abc import Sequence

from .config import DEFAULT_BATCH_SIZE
from .models import resolve_model
from .pipeline import apply_model
from .sources import paths_frame, resolve_inputs
from .spark import get_session, task_cpus
from .udfs import iterator_udf


def classify(
    data,
    *,
    model: str = "catdog",
    path_col: str | None = None,
    content_col: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "onnx",
    threads: int | None = None,
):
    """Label every image of ``data``; returns a DataFrame with ``label``, ``score``,
    ``error`` and ``error_kind`` added (``imagenet`` adds ``top5_labels``/``top5_scores``).

    ``data`` is a DataFrame with a binary ``content`` column (Spark's ``binaryFile``
    source) or a string path column, or folders/globs/files to list (then the active
    SparkSession, or a local one, is used). Image bytes are not carried to the result.

    Example::

        import sparkvision as sv
        df = spark.read.format("binaryFile").load("photos/*.jpg")
        sv.classify(df).select("path", "label", "score").show()
    """
    return _predict(data, "classify", model, path_col, content_col, batch_size, engine, threads)


def embed(
    data,
    *,
    model: str = "embedding",
    path_col: str | None = None,
    content_col: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "onnx",
    threads: int | None = None,
):
    """Add an ``embedding`` column (``array<float>``, 1280 long for the built-in network)
    and ``error``/``error_kind``; same inputs as :func:`classify`.

    Example::

        vecs = sv.embed(spark.createDataFrame([("a.jpg",)], "path string"), path_col="path")
    """
    return _predict(data, "embed", model, path_col, content_col, batch_size, engine, threads)


def predict_udf(
    model: str = "catdog",
    *,
    task: str = "classify",
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "onnx",
    threads: int = 1,
):
    """A Pandas UDF to use in ``withColumn``/``select``: its argument is a binary column of
    image bytes or a string column of paths; it returns a struct of the result columns.

    Example::

        df.withColumn("pred", sv.predict_udf("catdog")("content")).select("path", "pred.*")
    """
    spec = resolve_model(model, task=task, engine=engine, threads=threads)
    return iterator_udf(spec, batch_size=batch_size)


def _predict(data, task, model, path_col, content_col, batch_size, engine, threads):
    if isinstance(data, (str, bytes)) or _is_sequence_of_str(data):
        spark = get_session()
        data = paths_frame(spark, resolve_inputs(data), rows_per_partition=4 * batch_size)
        path_col = "path"
    else:
        spark = data.sparkSession
    spec = resolve_model(model, task=task, engine=engine, threads=threads or task_cpus(spark))
    return apply_model(data, spec, batch_size=batch_size, path_col=path_col, content_col=content_col)


def _is_sequence_of_str(data) -> bool:
    return isinstance(data, Sequence) and all(isinstance(x, str) for x in data)
