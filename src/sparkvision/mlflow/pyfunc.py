"""The ``python_function`` flavor of a sparkvision model: :class:`SparkvisionModel`, its
signature and its requirements.

The model runs the way ``classify``/``embed`` run it: the packaged model is prepared by
:func:`sparkvision.jobs.prepare.prepare_model` when MLflow loads it, and every batch goes through
:func:`sparkvision.executor.predict_frame` (read, decode, preprocess, engine, head), so
``mlflow.pyfunc.load_model(uri).predict(frame)`` and ``mlflow.pyfunc.spark_udf`` give the
rows ``sv.classify`` gives.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from sparkvision._version import __version__
from sparkvision.config import DEFAULT_BATCH_SIZE, ModelSpec
from sparkvision.models.logged import ARTIFACT, logged_reference, require_mlflow

mlflow = require_mlflow("sparkvision.mlflow")
from mlflow.models import ModelSignature  # noqa: E402 - after mlflow.pyfunc's quiet import
from mlflow.pyfunc import PythonModel  # noqa: E402
from mlflow.types.schema import Array, ColSpec, Schema  # noqa: E402

#: the input column: image file bytes (a path string is read too)
INPUT = "content"

#: head -> the output columns and their MLflow types (``error``/``error_kind`` follow)
OUTPUTS: dict[str, list[tuple[str, Any]]] = {
    "catdog": [("label", "string"), ("score", "double")],
    "imagenet": [("label", "string"), ("score", "double"),
                 ("top5_labels", Array("string")), ("top5_scores", Array("double"))],
    "embedding": [("embedding", Array("double"))],
    **{head: [("label", "string"), ("score", "double"), ("scores", Array("double"))]
       for head in ("softmax", "sigmoid", "logits")},
}

#: format or engine -> the sparkvision extra it needs
EXTRAS = {"keras": "keras", "hf": "hf", "torch": "torch", "torchscript": "torch",
          "openvino": "openvino"}


def signature(head: str) -> ModelSignature:
    """Image bytes in; the head's columns out (label, score and class probabilities for a
    classifier, ``embedding`` for an embedding model), then ``error`` and ``error_kind``."""
    outputs = [ColSpec(kind, name) for name, kind in OUTPUTS[head]]
    outputs += [ColSpec("string", "error", required=False),
                ColSpec("string", "error_kind", required=False)]
    return ModelSignature(inputs=Schema([ColSpec("binary", INPUT)]), outputs=Schema(outputs))


def requirements(spec: ModelSpec) -> list[str]:
    """sparkvision at this version, with the extra its engine needs, and mlflow."""
    used = {spec.format, spec.engine}
    if spec.backbone is not None:
        used |= {spec.backbone.format, spec.backbone.engine}
    extras = sorted({EXTRAS[u] for u in used if u in EXTRAS})
    name = f"sparkvision[{','.join(extras)}]" if extras else "sparkvision"
    return [f"{name}=={__version__}", f"mlflow=={mlflow.__version__}"]


class SparkvisionModel(PythonModel):
    """A sparkvision model as an MLflow ``python_function`` model."""

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.batch_size = batch_size
        self.spec: ModelSpec | None = None

    def load_context(self, context: Any) -> None:
        from sparkvision.jobs.prepare import prepare_model
        from sparkvision.options import ModelOptions, ModelRequest

        ref, logged = logged_reference(context.artifacts[ARTIFACT])
        card = None if logged.kind == "trained" else logged.options
        request = ModelRequest(ref, task=logged.task, engine=logged.engine,
                               threads=min(4, os.cpu_count() or 1),
                               options=ModelOptions(model_config=card))
        self.spec = prepare_model(request)  # no session: the files are read where they are

    # model_input: a DataFrame, the one hint MLflow leaves to the signature (it reads most
    # others as a schema of their own, and warns when there is none)
    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        from sparkvision.executor import predict_frame

        if self.spec is None:
            self.load_context(context)
        assert self.spec is not None
        items = [_item(v) for v in _column(model_input)]
        frame = predict_frame(items, self.spec, batch_size=self.batch_size)
        for name, kind in OUTPUTS[self.spec.head]:
            if isinstance(kind, Array):
                frame[name] = [None if v is None else [_plain(x) for x in v]
                               for v in frame[name]]
            elif kind == "double":
                frame[name] = frame[name].astype("float64")
        return frame


def _column(model_input: Any) -> list[Any]:
    if isinstance(model_input, pd.DataFrame):
        column = INPUT if INPUT in model_input.columns else model_input.columns[0]
        return list(model_input[column])
    if isinstance(model_input, pd.Series):
        return list(model_input)
    if isinstance(model_input, (bytes, str)):
        return [model_input]
    return list(model_input)


def _item(value: Any) -> Any:
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim == 1:
        return value.tobytes()
    return value


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
