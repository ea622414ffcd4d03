"""The library API: predictions as Spark columns, inside the user's own job."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from sparkvision.config import DEFAULT_BATCH_SIZE, ModelSpec
from sparkvision.errors import ConfigError
from sparkvision.imaging.preprocess import decode_side
from sparkvision.jobs.pipeline import BATCHES_PER_TASK, apply_model
from sparkvision.jobs.prepare import prepare_model
from sparkvision.options import ModelOptions, ModelRequest
from sparkvision.runtime.session import is_connect, open_session
from sparkvision.sources import list_inputs, paths_frame
from sparkvision.train.training import TrainedModel
from sparkvision.udfs import iterator_udf

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from typing_extensions import TypeIs

#: A model: a built-in name, a model file or folder, a ``"module:callable"``, a callable
#: returning an ``nn.Module`` (or an ``nn.Module``), or a resolved spec.
ModelRef = Union[str, "os.PathLike[str]", Callable[..., Any], ModelSpec]
#: Images: a DataFrame with a binary ``content`` or a string path column, or folders,
#: globs, image files or path-list files to list.
ImagesInput = Union["DataFrame", str, Sequence[str]]
ModelConfig = Union[str, "os.PathLike[str]", Mapping[str, Any], None]


def classify(
    data: ImagesInput,
    *,
    model: ModelRef = "catdog",
    path_col: str | None = None,
    content_col: str | None = None,
    output_col: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "auto",
    threads: int | None = None,
    model_config: ModelConfig = None,
    arch: str | Callable[..., Any] | None = None,
    device: str = "auto",
    precision: str = "fp32",
    ship: str = "auto",
    trust_model_code: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> DataFrame:
    """Label every image of ``data``: the result has ``label``, ``score``, ``error`` and
    ``error_kind`` (``imagenet`` adds ``top5_labels``/``top5_scores``, a softmax/sigmoid
    model ``scores``), as columns or, with ``output_col``, as one struct column of that
    name. A column ``data`` already has is never overwritten: a clash is an error that
    suggests ``output_col``.

    ``data`` is a DataFrame with a binary ``content`` column (Spark's ``binaryFile``
    source) or a string path column, or folders/globs/files to list (then the active
    SparkSession, or a local one, is used). Image bytes are not carried to the result.
    ``threads`` are engine threads per task (default ``spark.task.cpus``).

    Example::

        import sparkvision as sv
        df = spark.read.format("binaryFile").load("photos/*.jpg")
        sv.classify(df).select("path", "label", "score").show()
        sv.classify(df, output_col="pred").select("path", "pred.label")

    ``model`` is a built-in name or your own model (docs/byo-models.md): a ``.keras``/``.h5``,
    TorchScript, torch or ``.onnx`` file, a Hugging Face folder, a ``"module:callable"``, a
    callable or an ``nn.Module``. ``model_config`` (a TOML/JSON card or a dict) and
    ``options`` (the same keys: ``image_size=200, scale="1/255", labels=["cat", "dog"]``...)
    say how to feed and read it; ``arch`` builds the network for a state-dict file;
    ``ship`` is ``auto``/``path``/``broadcast``; ``trust_model_code`` allows files that
    run code::

        sv.classify(df, model="catdog.h5", labels=["cat", "dog"], threshold=0.5)

    Paths and folders in object stores (``s3://bucket/photos/``) are listed and read on the
    cluster with fsspec; ``storage_options`` are its file-system options (e.g.
    ``{"anon": True}``), which the tasks receive (docs/storage.md).
    """
    return _predict(data, "classify", model, path_col, content_col, output_col, batch_size,
                    engine, threads,
                    dict(options, model_config=model_config, arch=arch, device=device,
                         precision=precision, ship=ship, trust_model_code=trust_model_code),
                    storage_options)


def embed(
    data: ImagesInput,
    *,
    model: ModelRef = "embedding",
    path_col: str | None = None,
    content_col: str | None = None,
    output_col: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "auto",
    threads: int | None = None,
    model_config: ModelConfig = None,
    arch: str | Callable[..., Any] | None = None,
    device: str = "auto",
    precision: str = "fp32",
    ship: str = "auto",
    trust_model_code: bool = False,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> DataFrame:
    """An ``embedding`` (``array<float>``, 1280 long for the built-in network, the
    flattened output for your own model) and ``error``/``error_kind`` for every image;
    same inputs, model options and ``output_col`` as :func:`classify`.

    Example::

        vecs = sv.embed(spark.createDataFrame([("a.jpg",)], "path string"), path_col="path")
        feats = sv.embed(df, model="mynets:resnet50_features")  # 2048 floats per image
    """
    return _predict(data, "embed", model, path_col, content_col, output_col, batch_size,
                    engine, threads,
                    dict(options, model_config=model_config, arch=arch, device=device,
                         precision=precision, ship=ship, trust_model_code=trust_model_code),
                    storage_options)


def predict_udf(
    model: ModelRef = "catdog",
    *,
    task: str = "classify",
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "auto",
    threads: int | None = None,
    model_config: ModelConfig = None,
    arch: str | Callable[..., Any] | None = None,
    device: str = "auto",
    precision: str = "fp32",
    ship: str = "auto",
    trust_model_code: bool = False,
    **options: Any,
) -> Callable[..., Column]:
    """A Pandas UDF to use in ``withColumn``/``select``: its argument is a binary column of
    image bytes or a string column of paths; it returns a struct of the result columns.
    ``model`` and the model options are those of :func:`classify`; ``threads`` defaults to
    the active session's ``spark.task.cpus``.

    Example::

        df.withColumn("pred", sv.predict_udf("catdog")("content")).select("path", "pred.*")
    """
    from pyspark.sql import SparkSession

    request = _request(model, task, engine, threads, batch_size,
                       dict(options, model_config=model_config, arch=arch, device=device,
                            precision=precision, ship=ship, trust_model_code=trust_model_code))
    spec = prepare_model(request, SparkSession.getActiveSession())
    return iterator_udf(spec, batch_size=batch_size)


def train(
    data: ImagesInput,
    *,
    label_col: str | None = None,
    label_from: str | None = None,
    out: str | None = None,
    model: str = "embedding",
    engine: str = "auto",
    folds: int = 3,
    holdout: float = 0.0,
    overwrite: bool = False,
    fit_on: str = "auto",
    path_col: str | None = None,
    content_col: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    **model_options: Any,
) -> TrainedModel:
    """Fit a classifier for your own labels on ``model``'s embeddings (see
    :mod:`sparkvision.train.training`), and return it, saved in ``out`` (default: a new
    folder in the cache). The result works as ``model=`` everywhere. ``fit_on``: ``driver``
    (numpy), ``spark`` (MLlib) or ``auto`` (the driver up to 50,000 images).

    ``data`` is a DataFrame of images with a ``label_col``, or folders/paths whose labels
    are read with ``label_from`` (``folder`` or ``filename``)::

        clf = sv.train("photos/", label_from="folder", out="my-model")
        sv.classify(df, model=clf)
        clf.evaluate("other-photos/", label_from="folder")["accuracy"]
    """
    from sparkvision.config import cache_dir
    from sparkvision.options import RunConfig
    from sparkvision.train.training import TrainConfig, train_from_frame, train_from_paths

    if (label_col is None) == (label_from is None):
        raise ConfigError("train needs exactly one of label_col= (a DataFrame) or label_from=")
    if out is None:
        import uuid

        out = os.path.join(cache_dir(), "trained", uuid.uuid4().hex[:12])
    request = _request(model, "embed", engine, None, batch_size, model_options)
    config = TrainConfig(out=out, model=request, folds=folds, holdout=holdout,
                         overwrite=overwrite, fit_on=fit_on)
    if label_from is not None:
        if not _is_paths(data):
            raise ConfigError("label_from= reads the labels from file paths: pass folders, "
                              "globs or files, or pass a DataFrame with label_col=")
        paths = [data] if isinstance(data, str) else list(data)
        run = RunConfig(out=out, quiet=True)
        train_from_paths(paths, label_from=label_from, config=config, run=run)
    else:
        train_from_frame(data, label_col=label_col or "", config=config, path_col=path_col,
                         content_col=content_col)
    return TrainedModel(out)


def search(
    vectors: DataFrame | str,
    queries: str | Sequence[str] = (),
    *,
    text: str | Sequence[str] = (),
    k: int = 10,
    model: ModelRef | None = None,
    engine: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    extensions: Sequence[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> DataFrame:
    """The ``k`` photos of ``vectors`` most like each query photo, by cosine similarity,
    exact, computed on Spark: a DataFrame of ``query``, ``rank`` (1 = most similar),
    ``path``, ``similarity`` and ``error``, ordered by query then rank. Equal similarities
    are ordered by path. A query photo that cannot be read has one row with its ``error``.

    ``vectors`` is the output folder of ``sparkvision embed`` / :func:`embed`, a DataFrame
    with ``path`` and ``embedding``, or an index folder of ``sparkvision index`` (answered
    from the index in this process, with the same columns; the ``index`` extra);
    ``queries`` are image files, folders or globs. They are embedded with ``model``
    (default: the model recorded beside the ``vectors`` folder, else ``embedding``) and the
    model options, which must be those the vectors were made with: a query of another
    length than the vectors is refused::

        hits = sv.search("vectors.parquet", ["holiday/beach.jpg"], k=5)
        hits.select("rank", "path", "similarity").show()

    ``text``: sentences to search by, embedded by the text tower of the CLIP model folder
    the vectors were made with (``sv.search("clip-vectors", text="a dog on a beach")``);
    their ``query`` is the sentence.
    """
    from sparkvision.photosearch.index import index_frame, is_index, load_index
    from sparkvision.photosearch.job import check_k, choose_model, prepared_queries, search_frame
    from sparkvision.photosearch.queries import query_paths
    from sparkvision.photosearch.vectors import Recorded, read_vectors, recorded_model, vector_frame

    check_k(k)
    texts = [text] if isinstance(text, str) else list(text)
    if not queries and not texts:
        raise ConfigError("search needs queries: photos (`queries`) or sentences (`text`)")
    paths = query_paths(queries, extensions=extensions) if queries else []
    request = _request(None, "embed", engine, None, batch_size, options)
    loaded = load_index(vectors) if isinstance(vectors, str) and is_index(vectors) else None
    if loaded is not None:
        spark, recorded, frame = open_session(), loaded.recorded(), None
    elif isinstance(vectors, str):
        spark = open_session()
        recorded = recorded_model(vectors)
        frame = read_vectors(spark, vectors)
    else:
        spark, recorded, frame = vectors.sparkSession, Recorded(), vector_frame(vectors)
    request, _ = choose_model(request if model is None else request.with_(model=model),
                              recorded)
    found, _ = prepared_queries(spark, frame, paths, request, recorded,
                                storage=storage_options, texts=texts,
                                expected=loaded.dimension if loaded is not None else None)
    if loaded is not None:
        return index_frame(spark, loaded, found, k)
    return search_frame(spark, frame, found, k)


def _request(model: ModelRef | None, task: str, engine: str, threads: int | None, batch_size: int,
             options: dict[str, Any]) -> ModelRequest:
    """The typed request of the API's keyword arguments (an unknown option is an error)."""
    return ModelRequest(model=model, task=task, engine=engine, threads=threads,
                        batch_size=batch_size, options=ModelOptions.from_mapping(options))


def _predict(data: ImagesInput, task: str, model: ModelRef, path_col: str | None,
             content_col: str | None, output_col: str | None, batch_size: int, engine: str,
             threads: int | None, model_options: dict[str, Any],
             storage: Mapping[str, Any] | None) -> DataFrame:
    request = _request(model, task, engine, threads, batch_size, model_options)
    if _is_paths(data):
        spark = open_session()
        paths = list_inputs(data, session=lambda: spark, connect=is_connect(spark),
                            storage=storage)
        spec = prepare_model(request, spark)
        data = paths_frame(spark, paths, rows_per_partition=BATCHES_PER_TASK * batch_size,
                           decode_side=decode_side(spec.preprocess))
        path_col = "path"
    else:
        spec = prepare_model(request, data.sparkSession)
    return apply_model(data, spec, batch_size=batch_size, path_col=path_col,
                       content_col=content_col, output_col=output_col, storage=storage)


def _is_paths(data: object) -> TypeIs[str | Sequence[str]]:
    """Whether ``data`` names files to list (a path or paths), not a DataFrame."""
    if isinstance(data, str):
        return True
    return isinstance(data, Sequence) and all(isinstance(x, str) for x in data)
