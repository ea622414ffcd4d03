"""The Python API on a Spark Connect session: classify (catdog, imagenet), embed,
predict_udf and train, with a model file shipped as an artifact, equal to local
predictions. The client runs in a child process (conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.drawing import write_images
from sparkconnect import ConnectServer
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model

pytestmark = [pytest.mark.connect, pytest.mark.timeout(1000)]

CLIENT = r"""
import json, sys

from pyspark.sql import SparkSession

import sparkvision as sv

url, folder, onnx, model_dir = sys.argv[1:5]
spark = SparkSession.builder.remote(url).getOrCreate()
try:
    images = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
              .load(folder))
    preds = sv.classify(images).select("path", "label", "score", "error_kind")
    inet = sv.classify(images, model="imagenet", output_col="p").select("path", "p.top5_labels")
    vecs = sv.embed([folder]).select("path", "embedding")  # paths: the active session
    udf = sv.predict_udf(onnx, labels=["a", "b", "c"], ship="artifact")
    own = images.select("path", udf("content").alias("p")).select("path", "p.label", "p.score")
    labelled = images.selectExpr("path", "content",
                                 "regexp_extract(path, '/(cat|dog)/', 1) AS kind")
    clf = sv.train(labelled, label_col="kind", out=model_dir, folds=2)
    again = sv.classify(labelled, model=clf, output_col="pred")
    result = {
        "session": type(spark).__module__,
        "preds": [r.asDict() for r in preds.collect()],
        "inet": [r.asDict() for r in inet.collect()],
        "vecs": [r.asDict() for r in vecs.collect()],
        "own": [r.asDict() for r in own.collect()],
        "classes": clf.classes,
        "trained": [(r["kind"], r["pred"]["label"]) for r in again.collect()],
    }
    print("RESULT " + json.dumps(result), flush=True)
finally:
    spark.stop()
"""


def test_api_on_a_connect_session_equals_local(connect_server: ConnectServer,
                                               tmp_path: Path) -> None:
    from byo_nets import export_onnx, trained_tiny_net

    folder = tmp_path / "photos"
    names = sorted(write_images(str(folder), [f"{c}/{c}.{i}.jpg" for c in ("cat", "dog")
                                              for i in range(5)]))
    onnx = export_onnx(trained_tiny_net(), str(tmp_path / "tiny.onnx"), size=32)
    script = tmp_path / "client.py"
    script.write_text(CLIENT, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), connect_server.url, str(folder), onnx,
                          str(tmp_path / "model")], capture_output=True, text=True, timeout=900)
    lines = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(lines[0][len("RESULT "):])
    assert result["session"] == "pyspark.sql.connect.session"

    def rows(key: str) -> list[dict]:
        found = sorted(result[key], key=lambda r: r["path"])
        assert [r["path"].removeprefix("file:") for r in found] == names
        return found

    local = predict_frame(names, resolve_model("catdog"), batch_size=8)
    preds = rows("preds")
    assert [r["label"] for r in preds] == list(local["label"])
    np.testing.assert_allclose([r["score"] for r in preds], local["score"], atol=1e-5)

    local = predict_frame(names, resolve_model("imagenet"), batch_size=8)
    assert [r["top5_labels"] for r in rows("inet")] == [list(v) for v in local["top5_labels"]]

    local = predict_frame(names, resolve_model("embedding", task="embed"), batch_size=8)
    np.testing.assert_allclose([r["embedding"] for r in rows("vecs")],
                               np.stack(local["embedding"]), atol=1e-4)

    local = predict_frame(names, resolve_model(onnx, labels=["a", "b", "c"]), batch_size=8)
    own = rows("own")
    assert [r["label"] for r in own] == list(local["label"])
    np.testing.assert_allclose([r["score"] for r in own], local["score"], atol=1e-5)

    assert result["classes"] == ["cat", "dog"]
    assert len(result["trained"]) == 10
    assert {label for _, label in result["trained"]} <= {"cat", "dog"}
    assert (tmp_path / "model" / "report.json").is_file()
