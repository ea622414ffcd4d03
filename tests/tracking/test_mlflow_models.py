"""MLflow against a real tracking server (conftest.py): `train --mlflow --register` makes a
registered model with the training's metrics and artifacts; that model runs by its
models:/ URI in sparkvision, in mlflow.pyfunc.spark_udf and in load_model().predict with
the rows sv.classify gives; a missing model, a model sparkvision did not log and a silent
server are refused before any Spark job; classify --mlflow leaves a run with its summary.

Two classes of drawn patterns (stripes and rings, 6 each) on the built-in backbone: small
enough that the whole module runs in about a minute on two cores."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import sparkvision as sv
from helpers.cli import run_cli
from helpers.drawing import pattern_image

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]

CLASSES = ("stripes", "rings")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("pets-photos")
    for c, kind in enumerate(CLASSES):
        os.makedirs(root / kind)
        for i in range(6):
            pattern_image(kind, 1000 * c + i).save(root / kind / f"{kind}.{i}.jpg", "JPEG")
    return str(root)


@pytest.fixture(scope="module")
def trained(spark, mlflow_server, photos, tmp_path_factory):
    """The model folder of `train --mlflow --register pets`, and what the command said."""
    model_dir = str(tmp_path_factory.mktemp("train") / "pets-model")
    result = run_cli(["train", photos, "--label-from", "folder", "--out", model_dir,
                      "--folds", "2", "--quiet", "--mlflow", "--experiment", "training",
                      "--register", "pets"], in_process=True)
    assert result.rc == 0, result.output
    return model_dir, result.stdout


def test_train_registers_a_model_version_with_its_metrics_and_artifacts(trained):
    import mlflow

    _, printed = trained
    assert "registered as models:/pets/1" in printed
    client = mlflow.MlflowClient()
    version = client.get_model_version("pets", "1")
    run = client.get_run(version.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert params["backbone"] == "embedding" and params["folds"] == "2"
    assert params["regularisation_grid"] == "0.001,0.01,0.1,1"
    assert params["regularisation"] in params["regularisation_grid"].split(",")
    assert params["fitted_on"] == "driver"  # 12 photos: the driver fits them
    assert params["classes"] == "rings,stripes"
    assert metrics["cv_accuracy"] == 1.0 and metrics["cv_log_loss"] > 0
    for kind in CLASSES:
        assert metrics[f"cv_precision_{kind}"] == 1.0 and metrics[f"cv_recall_{kind}"] == 1.0
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.json", "confusion_cv.png"} <= artifacts
    assert client.get_experiment(run.info.experiment_id).name == "training"
    # the logged model: a python_function flavor, sparkvision's version in its requirements
    info = mlflow.models.get_model_info("models:/pets/1")
    assert "python_function" in info.flavors and info.metadata["sparkvision"]["kind"] == "trained"
    assert [c["name"] for c in info.signature.outputs.to_dict()][:3] == ["label", "score", "scores"]
    requirements = mlflow.pyfunc.get_model_dependencies("models:/pets/1")
    with open(requirements, encoding="utf-8") as fh:
        assert f"sparkvision=={sv.__version__}" in fh.read()


def test_classify_by_models_uri_gives_the_rows_of_the_model_folder(trained, photos, tmp_path):
    model_dir, _ = trained
    frames = []
    for name, model in (("by-uri", "models:/pets/1"), ("by-dir", model_dir)):
        out = str(tmp_path / name)
        result = run_cli(["classify", photos, "--out", out, "--model", model, "--quiet"],
                         in_process=True)
        assert result.rc == 0, result.output
        frames.append(pd.read_parquet(out).sort_values("path").reset_index(drop=True))
    by_uri, by_dir = frames
    assert list(by_uri["label"]) == list(by_dir["label"])
    assert np.allclose(by_uri["score"], by_dir["score"], atol=1e-6)
    assert by_dir["error"].isna().all()
    assert sorted(set(by_dir["label"])) == sorted(CLASSES)


def test_spark_udf_and_load_model_predict_equal_sv_classify(spark, trained, photos):
    import mlflow

    model_dir, _ = trained
    df = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(photos)
    expected = (sv.classify(df, model=model_dir).select("path", "label", "score", "scores")
                .toPandas().sort_values("path").reset_index(drop=True))
    udf = mlflow.pyfunc.spark_udf(spark, "models:/pets/1", env_manager="local")
    got = (df.withColumn("p", udf("content")).select("path", "p.label", "p.score", "p.scores")
           .toPandas().sort_values("path").reset_index(drop=True))
    assert list(got["label"]) == list(expected["label"])
    assert np.allclose(got["score"], expected["score"], atol=1e-5)
    assert np.allclose(np.stack(got["scores"]), np.stack(expected["scores"]), atol=1e-5)

    rows = df.select("path", "content").toPandas().sort_values("path")
    predicted = mlflow.pyfunc.load_model("models:/pets/1").predict(rows[["content"]])
    assert list(predicted["label"]) == list(expected["label"])
    assert np.allclose(predicted["score"], expected["score"], atol=1e-5)


def test_a_missing_model_uri_exits_2_naming_it(mlflow_server, photos, tmp_path):
    out = str(tmp_path / "never")
    result = run_cli(["classify", photos, "--out", out, "--model", "models:/no-such-model/7"],
                     in_process=True)
    assert result.rc == 2
    assert "models:/no-such-model/7" in result.stderr and "not found" in result.stderr
    assert not os.path.exists(out)


def test_a_server_that_does_not_answer_exits_2_naming_it(photos, tmp_path):
    # (a URI fetched before is not asked for again in the same process)
    result = run_cli(["classify", photos, "--out", str(tmp_path / "never"),
                      "--model", "models:/pets@champion"],
                     env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}, in_process=True)
    assert result.rc == 2
    assert "models:/pets@champion" in result.stderr and "http://127.0.0.1:9" in result.stderr
    assert not os.path.exists(tmp_path / "never")


def test_a_model_sparkvision_did_not_log_is_refused_naming_its_flavor(mlflow_server, photos,
                                                                       tmp_path):
    import mlflow

    class Constant(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input: pd.DataFrame, params=None):
            return [0] * len(model_input)

    with mlflow.start_run() as run:
        mlflow.pyfunc.log_model(name="constant", python_model=Constant(),
                                pip_requirements=["mlflow"])
    uri = f"runs:/{run.info.run_id}/constant"
    result = run_cli(["classify", photos, "--out", str(tmp_path / "never"), "--model", uri],
                     in_process=True)
    assert result.rc == 2
    assert uri in result.stderr and "flavor python_function" in result.stderr


def test_classify_with_mlflow_logs_a_run_with_the_summary(spark, mlflow_server, photos,
                                                          tmp_path):
    import mlflow

    result = run_cli(["classify", photos, "--out", str(tmp_path / "preds"), "--model",
                      "models:/pets/1", "--label-from", "folder", "--quiet", "--mlflow",
                      "--experiment", "jobs", "--report", str(tmp_path / "report.html")],
                     in_process=True)
    assert result.rc == 0, result.output
    runs = mlflow.search_runs(experiment_names=["jobs"], output_format="list")
    assert len(runs) == 1
    metrics, params = runs[0].data.metrics, runs[0].data.params
    assert metrics["images"] == 12 and metrics["ok"] == 12 and metrics["failed"] == 0
    assert metrics["images_per_s"] > 0 and metrics["accuracy"] == 1.0
    assert params["model"] == "models:/pets/1" and params["task"] == "classify"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(runs[0].info.run_id)}
    assert {"report.html", "confusion.json"} <= artifacts


def test_an_embedding_model_logged_gives_the_vectors_of_sv_embed(spark, mlflow_server, photos):
    import mlflow

    import sparkvision.mlflow as svm

    with mlflow.start_run():
        svm.log_model("embedding", "vectors", task="embed", registered_model_name="pet-vectors")
    df = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(photos)
    expected = (sv.embed(df).select("path", "embedding").toPandas()
                .sort_values("path").reset_index(drop=True))
    udf = mlflow.pyfunc.spark_udf(spark, "models:/pet-vectors/1", env_manager="local")
    got = (df.withColumn("p", udf("content")).select("path", "p.embedding").toPandas()
           .sort_values("path").reset_index(drop=True))
    assert list(got["path"]) == list(expected["path"]) and len(got) == 12
    np.testing.assert_allclose(np.stack(got["embedding"]), np.stack(expected["embedding"]),
                               atol=1e-5)
    rows = df.select("path", "content").toPandas().sort_values("path")
    predicted = mlflow.pyfunc.load_model("models:/pet-vectors/1").predict(rows[["content"]])
    np.testing.assert_allclose(np.stack(predicted["embedding"]),
                               np.stack(expected["embedding"]), atol=1e-5)
