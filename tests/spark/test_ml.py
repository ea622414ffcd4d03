"""sparkvision.ml stages in Spark ML Pipelines: with VectorAssembler and LogisticRegression,
saved and loaded, over binaryFile bytes and the image source."""

import os

import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import StringIndexer, VectorAssembler
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import functions as F

import sparkvision as sv
from helpers.drawing import PATTERNS, write_patterns
from sparkvision.errors import ConfigError
from sparkvision.ml import ImageClassifier, ImageEmbedder

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("ml")
    write_patterns(str(root / "photos"), 4)
    (root / "photos" / "rings" / "rings.broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return root


def labelled(spark, folder):
    files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(folder)
    return files.withColumn("kind", F.element_at(F.split("path", "/"), -2))


def test_embedder_feeds_logistic_regression_and_the_pipeline_survives_save_load(spark, photos):
    data = labelled(spark, str(photos / "photos"))
    pipeline = Pipeline(stages=[
        StringIndexer(inputCol="kind", outputCol="label"),
        ImageEmbedder(inputCol="content", outputCol="image_features", batchSize=8),
        VectorAssembler(inputCols=["image_features"], outputCol="features",
                        handleInvalid="skip"),
        LogisticRegression(maxIter=10, regParam=0.01),
    ])
    fitted = pipeline.fit(data)
    path = str(photos / "pipeline")
    fitted.write().overwrite().save(path)
    loaded = PipelineModel.load(path)
    embedder = loaded.stages[1]
    assert isinstance(embedder, ImageEmbedder) and embedder.uid == fitted.stages[1].uid
    assert embedder.getModel() == "embedding" and embedder.getOrDefault("batchSize") == 8

    before = sorted(fitted.transform(data).select("path", "prediction", "label").collect())
    after = sorted(loaded.transform(data).select("path", "prediction", "label").collect())
    assert before == after and len(after) == 4 * len(PATTERNS)  # the broken file is skipped
    # the same drawn bytes every run and a fit that deals nothing by path: every photo right
    assert [r["prediction"] for r in after] == [r["label"] for r in after]

    embedded = embedder.transform(data)
    assert isinstance(embedded.schema["image_features"].dataType, VectorUDT)
    broken = embedded.where(F.col("path").endswith("broken.jpg")).first()
    assert broken["image_features"] is None
    assert broken["embedding_error"]["error_kind"] == "not_an_image"
    good = embedded.where(F.col("embedding_error").isNull()).first()
    assert good["image_features"].size == 1280


def test_classifier_stage_over_the_image_source_saved_and_loaded(spark, photos):
    folder = str(photos / "photos")
    images = spark.read.format("image").option("recursiveFileLookup", "true").load(folder)
    stage = ImageClassifier(model="imagenet", outputCol="guess")  # inputCol: found
    path = str(photos / "classifier")
    Pipeline(stages=[stage]).fit(images).write().overwrite().save(path)
    loaded = PipelineModel.load(path)
    assert loaded.stages[0].getModel() == "imagenet"
    ours = {r["path"].replace("file://", "file:"): r for r in
            loaded.transform(images).select("path", "guess.*").collect()}
    files = {r["path"]: r for r in sv.classify(labelled(spark, folder), model="imagenet")
             .collect()}
    assert sorted(ours) == sorted(files)
    for path, row in files.items():
        assert ours[path]["label"] == row["label"] and ours[path]["error_kind"] == (
            "decode_failed" if row["error"] else None)


def test_array_output_options_and_clashes(spark, photos):
    data = labelled(spark, str(photos / "photos" / "checks"))
    stage = ImageEmbedder(outputType="array", outputCol="vec", errorCol="problem",
                          modelOptions='{"image_size": 224}')
    result = stage.transform(data)
    assert result.schema["vec"].dataType.simpleString() == "array<float>"
    assert {len(r["vec"]) for r in result.select("vec").collect()} == {1280}
    with pytest.raises(ConfigError, match="already has column"):
        ImageEmbedder(outputCol="kind").transform(data)
    with pytest.raises(ConfigError, match="outputType"):
        ImageEmbedder(outputType="list").transform(data)
    with pytest.raises(TypeError, match="module:callable"):
        ImageClassifier(model=lambda: None)
    stage.save(str(photos / "stage"))
    again = ImageEmbedder.load(str(photos / "stage"))
    assert again.getOrDefault("modelOptions") == '{"image_size": 224}'
    assert os.path.isdir(str(photos / "stage" / "metadata"))
