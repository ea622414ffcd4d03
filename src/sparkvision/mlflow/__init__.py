"""sparkvision models as MLflow models, and runs of sparkvision commands in MLflow.

:func:`log_model` logs any model sparkvision runs (a built-in name, a trained model folder,
a model file, a Hugging Face folder) as an MLflow model with a ``python_function`` flavor
(:class:`~sparkvision.mlflow.pyfunc.SparkvisionModel`): the model travels inside it as an
artifact, with a signature (image bytes in; label, score and class probabilities, or a
vector, out) and pip requirements naming sparkvision's version. Such a model runs in
``mlflow.pyfunc.load_model`` and ``mlflow.pyfunc.spark_udf`` and, by its URI
(``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``runs:/RUN_ID/PATH``), wherever
sparkvision takes a model. Needs the ``mlflow`` extra: ``pip install 'sparkvision[mlflow]'``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any

from sparkvision.config import DEFAULT_BATCH_SIZE
from sparkvision.models.logged import require_mlflow

__all__ = ["log_model", "require_mlflow"]

#: model options that say how a model runs here, not what it is: not packaged
RUN_OPTIONS = ("ship", "device", "precision", "calibrate", "trust_model_code", "py_files")


def log_model(model: Any, name: str = "model", *, task: str = "classify",
              engine: str = "auto", batch_size: int = DEFAULT_BATCH_SIZE,
              registered_model_name: str | None = None, **options: Any) -> Any:
    """Log ``model`` to the active MLflow run (one is started when none is) as an MLflow
    model called ``name``; returns MLflow's ``ModelInfo``.

    ``task`` is ``classify`` or ``embed`` (a trained model folder classifies); ``options``
    are the model options of ``sv.classify`` (``model_config``, ``image_size``,
    ``labels``...), packaged with the model. ``registered_model_name`` also registers it:
    a new version of that registered model. The model is prepared and probed here first,
    so a model that would not run is refused before anything is logged::

        import sparkvision.mlflow
        with mlflow.start_run():
            sparkvision.mlflow.log_model("pets-model/", "model", registered_model_name="pets")
        spark_udf = mlflow.pyfunc.spark_udf(spark, "models:/pets/1", env_manager="local")
        df.withColumn("pred", spark_udf("content"))
    """
    require_mlflow("sparkvision.mlflow.log_model")
    import mlflow

    from sparkvision._version import __version__
    from sparkvision.jobs.prepare import prepare_model
    from sparkvision.mlflow.pyfunc import SparkvisionModel, requirements, signature
    from sparkvision.models.logged import ARTIFACT, MARKER, card_options, package
    from sparkvision.options import ModelOptions, ModelRequest

    spec = prepare_model(ModelRequest(model, task=task, engine=engine,
                                      options=ModelOptions.from_mapping(options)))
    card = {k: v for k, v in options.items() if k not in (*RUN_OPTIONS, "model_config")}
    card = {**card_options(options.get("model_config")), **card}
    with tempfile.TemporaryDirectory(prefix="sparkvision-mlflow-") as tmp, \
            warnings.catch_warnings():
        # image bytes make no JSON input example; the signature says what goes in
        warnings.filterwarnings("ignore", message=".*input example was not provided")
        folder = os.path.join(tmp, ARTIFACT)
        os.makedirs(folder)
        logged = package(model, folder, task=task, engine=engine, options=card)
        return mlflow.pyfunc.log_model(
            name=name, python_model=SparkvisionModel(batch_size=batch_size),
            artifacts={ARTIFACT: folder}, signature=signature(spec.head),
            pip_requirements=requirements(spec), registered_model_name=registered_model_name,
            metadata={MARKER: {"version": __version__, "kind": logged.kind,
                               "task": logged.task, "head": spec.head,
                               "labels": list(spec.labels)}})
