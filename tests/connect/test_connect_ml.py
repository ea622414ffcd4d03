"""sparkvision.ml stages and Spark's image source through a Spark Connect server: a Pipeline
of ImageEmbedder, VectorAssembler and LogisticRegression fitted, saved, loaded and applied
from an ``sc://`` client (pyspark 4 runs pyspark.ml over Connect). The client runs in a
child process (see conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sparkconnect
from helpers.drawing import write_patterns

pytestmark = [pytest.mark.connect, pytest.mark.timeout(700)]

CLIENT = r"""
import json, sys

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import StringIndexer, VectorAssembler
from pyspark.sql import SparkSession, functions as F

from sparkvision.ml import ImageClassifier, ImageEmbedder

url, photos, saved = sys.argv[1:4]
spark = SparkSession.builder.remote(url).getOrCreate()
try:
    data = (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(photos)
            .withColumn("kind", F.element_at(F.split("path", "/"), -2)))
    pipeline = Pipeline(stages=[
        StringIndexer(inputCol="kind", outputCol="label"),
        ImageEmbedder(inputCol="content", outputCol="image_features", batchSize=8),
        VectorAssembler(inputCols=["image_features"], outputCol="features"),
        LogisticRegression(maxIter=10, regParam=0.01),
    ])
    pipeline.fit(data).write().overwrite().save(saved)
    loaded = PipelineModel.load(saved)
    rows = loaded.transform(data).select("prediction", "label").collect()
    images = spark.read.format("image").option("recursiveFileLookup", "true").load(photos)
    labels = ImageClassifier(outputCol="p").transform(images).select("path", "p.*").collect()
    print("RESULT " + json.dumps({
        "session": type(spark).__module__,
        "stages": [type(s).__name__ for s in loaded.stages],
        "pairs": [[r["prediction"], r["label"]] for r in rows],
        "labels": [[r["path"], r["label"], r["error"]] for r in labels],
    }), flush=True)
finally:
    spark.stop()
"""


def test_ml_pipeline_and_image_source_over_connect(
    connect_server: sparkconnect.ConnectServer, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    write_patterns(str(photos), 4)
    script = tmp_path / "client.py"
    script.write_text(CLIENT, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), connect_server.url, str(photos),
                          str(tmp_path / "saved")], capture_output=True, text=True, timeout=600)
    lines = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(lines[0][len("RESULT "):])

    assert result["session"] == "pyspark.sql.connect.session"
    assert result["stages"] == ["StringIndexerModel", "ImageEmbedder", "VectorAssembler",
                                "LogisticRegressionModel"]
    assert len(result["pairs"]) == 12
    assert sum(p == y for p, y in result["pairs"]) >= 11  # three distinct drawn patterns
    assert len(result["labels"]) == 12
    assert all(path.startswith("file:") and error is None and label in ("cat", "dog", "other")
               for path, label, error in result["labels"])
