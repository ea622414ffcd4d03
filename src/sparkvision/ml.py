"""Spark ML stages: :class:`ImageClassifier` and :class:`ImageEmbedder`.

Both are ``pyspark.ml`` Transformers whose settings are ``Params``, so they go into a
``Pipeline`` next to MLlib's own stages and are saved and loaded with it
(``DefaultParamsWritable`` / ``DefaultParamsReadable``: the model is stored as its
reference, a built-in name, a file or folder path or a ``module:callable``, never as
weights). ``transform`` runs :func:`sparkvision.classify` / :func:`sparkvision.embed`::

    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from sparkvision.ml import ImageEmbedder

    stages = [ImageEmbedder(inputCol="content", outputCol="features"),
              LogisticRegression(featuresCol="features", labelCol="label")]
    model = Pipeline(stages=stages).fit(train)
    model.write().overwrite().save("image-pipeline")

The input column is a binary ``content`` column, a Spark ``image`` struct or a string path
column (unset: found as :func:`sparkvision.classify` finds it). The embedder writes an ML
``Vector`` (``outputType="vector"``, the default) or ``array<float>`` column, and a
struct ``errorCol`` (``error``, ``error_kind``), null for images that worked; an image
that failed has a null vector (``VectorAssembler(handleInvalid="skip")`` drops it).
"""

from __future__ import annotations

import json
import os
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCol, HasOutputCol
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable

import sparkvision.api as api
from sparkvision.config import DEFAULT_BATCH_SIZE
from sparkvision.errors import ConfigError

OUTPUT_TYPES = ("vector", "array")
_TMP = "_sparkvision_ml"


def _to_model_ref(value: Any) -> str:
    """A model reference that can be saved: a string or a path (a trained model folder)."""
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    raise TypeError(
        f"model must be a built-in name, a model file or folder, or 'module:callable' "
        f"(a string, so the stage can be saved); found {type(value).__name__}. Save your "
        "network to a file, or pass a 'module:callable' that builds it"
    )


def _param(name: str, doc: str, converter: Any) -> Param:
    return Param(Params._dummy(), name, doc, typeConverter=converter)


class _ImageStage(Transformer, HasInputCol, HasOutputCol,
                  DefaultParamsReadable, DefaultParamsWritable):
    """The Params both stages share and how they become keyword arguments of the API."""

    _input_kwargs: dict[str, Any]  # set by pyspark's keyword_only on each __init__ call

    model = _param("model", "built-in model name, model file or folder, or module:callable",
                   _to_model_ref)
    batchSize = _param("batchSize", "images per model call", TypeConverters.toInt)
    engine = _param("engine", "inference engine: auto, onnx, torch or keras",
                    TypeConverters.toString)
    precision = _param("precision", "fp32, fp16, bf16 or int8", TypeConverters.toString)
    device = _param("device", "auto, cpu or cuda", TypeConverters.toString)
    threads = _param("threads", "engine threads per task (0: spark.task.cpus)",
                     TypeConverters.toInt)
    modelConfig = _param("modelConfig", "a model card file (TOML or JSON); empty: none",
                         TypeConverters.toString)
    modelOptions = _param("modelOptions", "more model options (sparkvision.ModelOptions) as "
                          'a JSON object, e.g. {"labels": ["cat", "dog"], "image_size": 200, '
                          '"decode": "exact"}', TypeConverters.toString)
    trustModelCode = _param("trustModelCode", "allow model files that run code when loaded",
                            TypeConverters.toBoolean)

    def _set_defaults(self, model: str, output_col: str) -> None:
        self._setDefault(model=model, outputCol=output_col, batchSize=DEFAULT_BATCH_SIZE,
                         engine="auto", precision="fp32", device="auto", threads=0,
                         modelConfig="", modelOptions="{}", trustModelCode=False)

    def setParams(self, **kwargs: Any) -> _ImageStage:
        """Set any of the Params by name (``None`` leaves one as it is)."""
        return self._set(**{k: v for k, v in kwargs.items() if v is not None})

    def setInputCol(self, value: str) -> _ImageStage:
        return self._set(inputCol=value)

    def setOutputCol(self, value: str) -> _ImageStage:
        return self._set(outputCol=value)

    def setModel(self, value: str) -> _ImageStage:
        return self._set(model=value)

    def setBatchSize(self, value: int) -> _ImageStage:
        return self._set(batchSize=value)

    def setEngine(self, value: str) -> _ImageStage:
        return self._set(engine=value)

    def setPrecision(self, value: str) -> _ImageStage:
        return self._set(precision=value)

    def getModel(self) -> str:
        return str(self.getOrDefault(self.model))

    def _api_kwargs(self, dataset: Any) -> dict[str, Any]:
        """The keyword arguments of :func:`sparkvision.classify` / ``embed`` these Params
        stand for, with the input column passed as a path or a content column."""
        from pyspark.sql.types import StringType

        get = self.getOrDefault
        try:
            options = json.loads(get(self.modelOptions) or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"modelOptions must be a JSON object; {exc}") from None
        if not isinstance(options, dict):
            raise ConfigError(f"modelOptions must be a JSON object; found {options!r}")
        kwargs = dict(options, model=get(self.model), batch_size=get(self.batchSize),
                      engine=get(self.engine), precision=get(self.precision),
                      device=get(self.device), threads=get(self.threads) or None,
                      model_config=get(self.modelConfig) or None,
                      trust_model_code=get(self.trustModelCode))
        if self.isDefined(self.inputCol):
            column = self.getInputCol()
            found = dataset.schema[column].dataType if column in dataset.columns else None
            kwargs["path_col" if isinstance(found, StringType) else "content_col"] = column
        return kwargs

    def _check_free(self, dataset: Any, *names: str) -> None:
        taken = [name for name in names if name in dataset.columns]
        if taken:
            raise ConfigError(
                f"the DataFrame already has column(s) {', '.join(taken)}; set "
                f"{self.__class__.__name__}'s output columns to names it does not use"
            )


class ImageClassifier(_ImageStage):
    """Labels every image: ``outputCol`` (default ``pred``) is a struct of ``label``,
    ``score`` (plus the head's extra fields), ``error`` and ``error_kind``, as
    ``sparkvision.classify(df, output_col=...)`` gives it."""

    @keyword_only
    def __init__(self, *, inputCol: str | None = None, outputCol: str | None = None,
                 model: str | None = None, batchSize: int | None = None,
                 engine: str | None = None, precision: str | None = None,
                 device: str | None = None, threads: int | None = None,
                 modelConfig: str | None = None, modelOptions: str | None = None,
                 trustModelCode: bool | None = None) -> None:
        super().__init__()
        self._set_defaults("catdog", "pred")
        self.setParams(**self._input_kwargs)

    def _transform(self, dataset: Any) -> Any:
        self._check_free(dataset, self.getOutputCol())
        return api.classify(dataset, output_col=self.getOutputCol(),
                            **self._api_kwargs(dataset))


class ImageEmbedder(_ImageStage):
    """A feature vector per image in ``outputCol`` (default ``embedding``): an ML
    ``Vector`` (``outputType="vector"``) or ``array<float>`` (``"array"``), null for an
    image that failed, whose ``errorCol`` (default ``embedding_error``) holds
    ``error`` and ``error_kind``."""

    outputType = _param("outputType", "vector (an ML Vector, for MLlib) or array "
                        "(array<float>)", TypeConverters.toString)
    errorCol = _param("errorCol", "struct column of error and error_kind, null for images "
                      "that worked", TypeConverters.toString)

    @keyword_only
    def __init__(self, *, inputCol: str | None = None, outputCol: str | None = None,
                 model: str | None = None, batchSize: int | None = None,
                 engine: str | None = None, precision: str | None = None,
                 device: str | None = None, threads: int | None = None,
                 modelConfig: str | None = None, modelOptions: str | None = None,
                 trustModelCode: bool | None = None, outputType: str | None = None,
                 errorCol: str | None = None) -> None:
        super().__init__()
        self._set_defaults("embedding", "embedding")
        self._setDefault(outputType="vector", errorCol="embedding_error")
        self.setParams(**self._input_kwargs)

    def setOutputType(self, value: str) -> ImageEmbedder:
        return self._set(outputType=value)

    def _transform(self, dataset: Any) -> Any:
        from pyspark.sql import functions as F

        kind = self.getOrDefault(self.outputType)
        if kind not in OUTPUT_TYPES:
            raise ConfigError(f"outputType must be one of {', '.join(OUTPUT_TYPES)}; "
                              f"found {kind!r}")
        out, errors = self.getOutputCol(), self.getOrDefault(self.errorCol)
        self._check_free(dataset, out, errors, _TMP)
        result = api.embed(dataset, output_col=_TMP, **self._api_kwargs(dataset))
        vector = F.col(f"{_TMP}.embedding")
        if kind == "vector":
            from pyspark.ml.functions import array_to_vector

            vector = F.when(vector.isNull(), None).otherwise(array_to_vector(vector))
        error = F.col(f"{_TMP}.error")
        failure = F.when(error.isNull(), None).otherwise(
            F.struct(error.alias("error"), F.col(f"{_TMP}.error_kind").alias("error_kind")))
        return result.withColumn(out, vector).withColumn(errors, failure).drop(_TMP)
