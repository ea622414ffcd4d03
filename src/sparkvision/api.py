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
    model_config=None,
    arch=None,
    device: str = "auto",
    precision: str = "fp32",
    ship: str = "auto",
    trust_model_code: bool = False,
    **options,
):
    """Label every image of ``data``; returns a DataFrame with ``label``, ``score``,
    ``error`` and ``error_kind`` added (``imagenet`` adds ``top5_labels``/``top5_scores``,
    a user's model ``scores``).

    ``data`` is a DataFrame with a binary ``content`` column (Spark's ``binaryFile``
    source) or a string path column, or folders/globs/files to list (then the active
    SparkSession, or a local one, is used). Image bytes are not carried to the result.

    Example::

        import sparkvision as sv
        df = spark.read.format("binaryFile").load("photos/*.jpg")
        sv.classify(df).select("path", "label", "score").show()

    ``model`` is a built-in name or your own model (docs/byo-models.md): a ``.keras``/``.h5``,
    TorchScript, torch or ``.onnx`` file, a ``"module:callable"``, a callable or an
    ``nn.Module``. Then ``model_config`` (a TOML/JSON card or a dict) and ``options`` (the
    same keys: ``image_size=200, scale="1/255", labels=["cat", "dog"]``...) say how to feed
    and read it; ``arch`` builds the network for a state-dict file; ``ship`` is
    ``auto``/``path``/``broadcast``; ``trust_model_code`` allows files that run code::

        sv.classify(df, model="catdog.h5", labels=["cat", "dog"], threshold=0.5)
    """
    return _predict(data, "classify", model, path_col, content_col, batch_size, engine, threads,
                    dict(options, model_config=model_config, arch=arch, device=device,
                         precision=precision, ship=ship, trust_model_code=trust_model_code))


def embed(
    data,
    *,
    model: str = "embedding",
    path_col: str | None = None,
    content_col: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "onnx",
    threads: int | None = None,
    model_config=None,
    arch=None,
    device: str = "auto",
    precision: str = "fp32",
    ship: str = "auto",
    trust_model_code: bool = False,
    **options,
):
    """Add an ``embedding`` column (``array<float>``, 1280 long for the built-in network,
    the flattened output for your own model) and ``error``/``error_kind``; same inputs and
    model options as :func:`classify`.

    Example::

        vecs = sv.embed(spark.createDataFrame([("a.jpg",)], "path string"), path_col="path")
        feats = sv.embed(df, model="mynets:resnet50_features")  # 2048 floats per image
    """
    return _predict(data, "embed", model, path_col, content_col, batch_size, engine, threads,
                    dict(options, model_config=model_config, arch=arch, device=device,
                         precision=precision, ship=ship, trust_model_code=trust_model_code))


def predict_udf(
    model: str = "catdog",
    *,
    task: str = "classify",
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "onnx",
    threads: int = 1,
    model_config=None,
    arch=None,
    device: str = "auto",
    precision: str = "fp32",
    ship: str = "auto",
    trust_model_code: bool = False,
    **options,
):
    """A Pandas UDF to use in ``withColumn``/``select``: its argument is a binary column of
    image bytes or a string column of paths; it returns a struct of the result columns.
    ``model`` and the model options are those of :func:`classify`.

    Example::

        df.withColumn("pred", sv.predict_udf("catdog")("content")).select("path", "pred.*")
    """
    from pyspark.sql import SparkSession

    spec = resolve_model(model, task=task, engine=engine, threads=threads,
                         spark=SparkSession.getActiveSession(), model_config=model_config,
                         arch=arch, device=device, precision=precision, ship=ship,
                         trust_model_code=trust_model_code, **options)
    return iterator_udf(spec, batch_size=batch_size)


def _predict(data, task, model, path_col, content_col, batch_size, engine, threads,
             model_options):
    if isinstance(data, (str, bytes)) or _is_sequence_of_str(data):
        spark = get_session()
        data = paths_frame(spark, resolve_inputs(data), rows_per_partition=4 * batch_size)
        path_col = "path"
    else:
        spark = data.sparkSession
    spec = resolve_model(model, task=task, engine=engine, threads=threads or task_cpus(spark),
                         spark=spark, **model_options)
    return apply_model(data, spec, batch_size=batch_size, path_col=path_col, content_col=content_col)


def _is_sequence_of_str(data) -> bool:
    return isinstance(data, Sequence) and all(isinstance(x, str) for x in data)
