"""Your own models on Spark: each format built and saved by the test, run through Spark,
equal to the framework's own prediction on the same preprocessed input."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

import byo_nets
import sparkvision as sv
from helpers.cli import run_cli
from sparkvision.errors import ModelError
from sparkvision.imaging import prepare
from sparkvision.models import resolve_model
from sparkvision.runtime.shipping import SessionShipper

pytestmark = pytest.mark.spark

NETS_FILE = os.path.abspath(byo_nets.__file__)


@pytest.fixture(scope="module")
def images(spark, image_folder):
    """The drawn images as a binaryFile DataFrame, and their bytes by path."""
    df = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(image_folder)
    content = {r["path"]: bytes(r["content"]) for r in df.select("path", "content").collect()}
    return df, content


@pytest.fixture(scope="module")
def nets_on_workers(spark):
    """Ship tests/byo_nets.py to the Python workers, as a user ships their module."""
    spark.sparkContext.addPyFile(NETS_FILE)


def inputs(content: dict[str, bytes], paths, pre) -> np.ndarray:
    return np.stack([prepare(content[p], pre) for p in paths])


def rows_by_path(df) -> tuple[list[str], pd.DataFrame]:
    frame = df.toPandas().sort_values("path").reset_index(drop=True)
    assert frame["error"].isna().all(), frame["error"].dropna().tolist()
    return frame["path"].tolist(), frame


def test_keras_seed_cnn_on_spark_equals_keras(tmp_path, images):
    df, content = images
    model = byo_nets.seed_vgg3(size=48)
    path = byo_nets.keras_save(model, str(tmp_path / "catdog_cnn.h5"))
    out = sv.classify(df, model=path, labels=["cat", "dog"], threshold=0.5)
    assert set(out.columns) >= {"path", "label", "score", "scores", "error", "error_kind"}
    paths, frame = rows_by_path(out)
    spec = resolve_model(path, labels=["cat", "dog"])
    expected = byo_nets.keras_predict(model, inputs(content, paths, spec.preprocess))[:, 0]
    got = np.array([s[0] for s in frame["scores"]], dtype=np.float32)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert frame["label"].tolist() == ["dog" if p >= 0.5 else "cat" for p in expected]
    np.testing.assert_allclose(frame["score"], np.where(expected >= 0.5, expected, 1 - expected),
                               atol=1e-4)


def test_torchscript_in_predict_udf_equals_torch(tmp_path, images):
    df, content = images
    net = byo_nets.resnet_small()
    path = byo_nets.save_torchscript(net, str(tmp_path / "net.pt"), size=40)
    udf = sv.predict_udf(path, labels="red,green,blue", image_size=40)
    out = df.withColumn("p", udf("content")).select("path", "p.*")
    paths, frame = rows_by_path(out)
    spec = resolve_model(path, image_size=40, labels="red,green,blue")
    with torch.no_grad():
        logits = net.eval()(torch.from_numpy(inputs(content, paths, spec.preprocess)))
    expected = torch.softmax(logits, 1).numpy()
    np.testing.assert_allclose(np.stack(frame["scores"]), expected, atol=1e-5)
    assert frame["label"].tolist() == [("red", "green", "blue")[i] for i in expected.argmax(1)]


def test_state_dict_with_arch_shipped_by_broadcast(tmp_path, spark, images, nets_on_workers):
    df, content = images
    net = byo_nets.trained_tiny_net()
    path = str(tmp_path / "weights.pth")
    torch.save(net.state_dict(), path)
    spec = resolve_model(path, arch="byo_nets:tiny_net", image_size=32, output="logits",
                         ship="broadcast", shipper=SessionShipper(spark))
    assert spec.shipped is not None and len(pickle.dumps(spec)) < 4096
    out = sv.classify(df, model=spec)
    os.rename(path, path + ".gone")  # the workers must not need the driver's file
    paths, frame = rows_by_path(out)
    with torch.no_grad():
        expected = net(torch.from_numpy(inputs(content, paths, spec.preprocess))).numpy()
    np.testing.assert_allclose(np.stack(frame["scores"]), expected, atol=1e-5)
    cached = os.path.join(os.environ["SPARKVISION_CACHE"], "models", f"{spec.artifact_sha256}.pth")
    assert os.path.isfile(cached)  # written by a worker from the broadcast bytes


def test_ship_path_to_a_file_workers_cannot_read_fails_with_advice(tmp_path, spark, images):
    df, _ = images
    path = str(tmp_path / "w.pth")
    torch.save(byo_nets.trained_tiny_net().state_dict(), path)
    spec = resolve_model(path, arch=byo_nets.tiny_net, image_size=32, ship="path",
                         shipper=SessionShipper(spark))
    os.remove(path)
    with pytest.raises(Exception, match=r"cannot read the model file.*`ship` broadcast"):
        sv.classify(df, model=spec).collect()


def test_resnet50_feature_extractor_keeps_2048(images, nets_on_workers):
    df, content = images
    out = sv.embed(df, model="byo_nets:resnet50_features", image_size=64)
    assert out.schema["embedding"].dataType.simpleString() == "array<float>"
    paths, frame = rows_by_path(out)
    got = np.stack(frame["embedding"])
    assert got.shape == (len(content), 2048)
    spec = resolve_model("byo_nets:resnet50_features", task="embed", image_size=64)
    with torch.no_grad():
        expected = byo_nets.resnet50_features()(
            torch.from_numpy(inputs(content, paths, spec.preprocess))).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_onnx_through_the_cli_equals_onnxruntime(tmp_path, image_folder, images):
    import onnxruntime as ort

    _, content = images
    path = byo_nets.export_onnx(byo_nets.resnet_small(), str(tmp_path / "net.onnx"), size=40)
    out = str(tmp_path / "preds")
    code = run_cli(["classify", image_folder, "--model", path, "--labels", "a,b,c",
                    "--out", out, "--quiet"], in_process=True).rc
    assert code == 0
    frame = pd.read_parquet(out).sort_values("path").reset_index(drop=True)
    assert frame["error"].isna().all() and len(frame) == len(content)
    spec = resolve_model(path, labels="a,b,c")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    by_path = {p.replace("file:", ""): b for p, b in content.items()}
    x = np.stack([prepare(by_path[p.replace("file:", "")], spec.preprocess) for p in frame["path"]])
    logits = session.run(None, {"image": x})[0]
    e = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(np.stack(frame["scores"]), e / e.sum(1, keepdims=True), atol=1e-5)


def test_model_built_once_per_python_worker_process(tmp_path, spark, images):
    df, _ = images
    builds = tmp_path / "builds"
    builds.mkdir()
    record = str(builds)

    def counting_model():
        import os as _os
        import uuid

        open(_os.path.join(record, f"{_os.getpid()}-{uuid.uuid4().hex}"), "w").close()
        return byo_nets.TinyNet()

    many = df.repartition(8)
    out = sv.classify(many, model=counting_model, image_size=32, batch_size=2)
    rows = out.select("label", "error").collect()
    assert len(rows) == df.count() and all(r["error"] is None for r in rows)
    pids = [name.split("-")[0] for name in os.listdir(builds)]
    workers = [p for p in pids if p != str(os.getpid())]
    assert pids.count(str(os.getpid())) == 1  # the driver's probe
    assert workers and len(workers) == len(set(workers)) < 8  # one build per process, reused


class ImageVectorizer:
    """The second seed's pattern: a class that holds the SparkSession and hands one of its
    own methods to Spark."""

    def __init__(self, spark):
        self.spark = spark

    def build_model(self):
        return byo_nets.resnet50_features()

    def vectorize(self, df):
        return sv.embed(df, model=self.build_model, image_size=64)


def test_capturing_the_spark_session_fails_on_the_driver_before_any_job(tmp_path, spark, images):
    df, _ = images
    weights = str(tmp_path / "weights.pth")
    torch.save(byo_nets.tiny_net().state_dict(), weights)
    sc = spark.sparkContext
    sc.setJobGroup("capture-check", "must stay empty")
    try:
        with pytest.raises(ModelError) as info:
            ImageVectorizer(spark).vectorize(df)
        frame = df

        def build_with_closure():
            frame.count()
            return byo_nets.TinyNet()

        with pytest.raises(ModelError, match="closure variable 'frame' \\(DataFrame\\)"):
            sv.classify(df, model=build_with_closure)
        with pytest.raises(ModelError, match=r"the architecture ImageVectorizer\.build_model"):
            sv.predict_udf(weights, arch=ImageVectorizer(spark).build_model)
        assert sc.statusTracker().getJobIdsForGroup("capture-check") == []
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    message = str(info.value)
    assert "ImageVectorizer.build_model" in message
    assert "self (ImageVectorizer) -> .spark (SparkSession)" in message
    assert "SparkContext can only be used on the driver" in message
    assert "module-level function or a @staticmethod" in message


def test_the_same_files_work_with_every_execution(tmp_path, images):
    df, _ = images
    path = byo_nets.save_torchscript(byo_nets.resnet_small(), str(tmp_path / "n.pt"), size=32)
    spec = resolve_model(path, image_size=32)
    from sparkvision.jobs.pipeline import apply_model

    results = {
        ex: sorted((r["path"], r["label"], round(r["score"], 5))
                   for r in apply_model(df, spec, execution=ex).collect())
        for ex in ("iterator", "pandas", "udf")
    }
    assert results["iterator"] == results["pandas"] == results["udf"]
