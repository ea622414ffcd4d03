"""Spark's image source as an input: the same labels as binaryFile of the same files, bad
rows as errors, the struct column in every UDF, ``image.origin`` kept as ``path``."""

import os
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image
from pyspark.sql import functions as F

import sparkvision as sv
from helpers.drawing import drawn_image, write_images
from sparkvision.errors import ConfigError
from sparkvision.jobs.pipeline import apply_model
from sparkvision.models import resolve_model

pytestmark = pytest.mark.spark

#: files both sources decode; "big" JPEGs are decoded at 1/2 scale by sparkvision's own
#: decoder (draft mode) but at full size by Spark's, the one source of score differences
GOOD = ([f"cat.{i}.jpg" for i in range(4)] + [f"dog.{i}.png" for i in range(2)]
        + ["big.0.jpg", "big.1.jpg", "alpha.png", "grey.png"])
#: Java's ImageIO cannot read WebP; a text file is no image to either decoder
BAD = ["photo.webp", "notes.jpg"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("image-source"))
    write_images(root, [*GOOD[:6], "photo.webp"])
    write_images(root, ["big.0.jpg", "big.1.jpg"], size=(1400, 1000), seed=10)
    alpha = drawn_image(20).convert("RGBA")
    alpha.putalpha(Image.linear_gradient("L").resize(alpha.size))
    alpha.save(os.path.join(root, "alpha.png"))
    drawn_image(21).convert("L").save(os.path.join(root, "grey.png"))
    with open(os.path.join(root, "notes.jpg"), "w", encoding="utf-8") as fh:
        fh.write("not a picture")
    return root


def by_name(rows):
    return {os.path.basename(urlparse(r["path"]).path) if r["path"] else None: r for r in rows}


def classify_both(spark, folder, model):
    images = spark.read.format("image").option("dropInvalid", False).load(folder)
    result = sv.classify(images, model=model)
    assert result.columns[0] == "path" and "image" not in result.columns
    files = sv.classify(spark.read.format("binaryFile").load(folder), model=model)
    return by_name(result.collect()), by_name(files.collect())


@pytest.mark.parametrize("model", ["catdog", "imagenet"])
def test_labels_equal_binary_file_and_bad_rows_are_errors(spark, folder, model):
    ours, files = classify_both(spark, folder, model)
    assert sorted(ours) == sorted(files) == sorted(GOOD + BAD)  # every file has a row
    for name in GOOD:
        a, b = ours[name], files[name]
        assert a["error"] is None and b["error"] is None, (name, a["error"], b["error"])
        if name.startswith("big"):
            # decoded at full size, not in draft mode: the same cat/dog/other label; the
            # 1000 ImageNet classes of a drawn picture are too close to call exactly
            assert (a["label"] == b["label"]) or model == "imagenet", name
            assert abs(a["score"] - b["score"]) < 0.03, name
        else:  # the same pixels: the same label and score
            assert a["label"] == b["label"] and abs(a["score"] - b["score"]) < 1e-5, name
    for name in BAD:
        assert ours[name]["error_kind"] == "decode_failed" and ours[name]["label"] is None
        assert "binaryFile" in ours[name]["error"] and name in ours[name]["error"]
    assert files["photo.webp"]["error"] is None  # PIL reads WebP: the advice works
    assert ours["cat.0.jpg"]["path"].startswith("file:") and ours["cat.0.jpg"]["path"].endswith(
        "/cat.0.jpg")


def test_image_column_by_name_in_every_udf(spark, folder):
    images = (spark.read.format("image").load(folder)
              .select(F.col("image").alias("img"), F.monotonically_increasing_id().alias("id")))
    images = images.withColumn(  # one null struct
        "img", F.when(F.col("img.origin").endswith("cat.1.jpg"), None).otherwise(F.col("img")))
    spec = resolve_model("catdog")
    runs = {execution: by_name(apply_model(images, spec, content_col="img", output_col="pred",
                                           execution=execution, batch_size=4)
                               .select("path", "id", "pred.*").collect())
            for execution in ("iterator", "pandas", "udf")}
    udf_rows = by_name(images.select(F.col("img.origin").alias("path"),
                                     sv.predict_udf("catdog")("img").alias("p"))
                       .select("path", "p.*").collect())
    for rows in (*runs.values(), udf_rows):
        assert sorted(rows, key=str) == sorted([*GOOD[:1], *GOOD[2:], *BAD, None], key=str)
        # a null struct has no origin (its path is null) and no image
        assert rows[None]["error_kind"] == "missing" and rows[None]["label"] is None
        assert all(rows[name]["error_kind"] == "decode_failed" for name in BAD)
    for name in [*GOOD[:1], *GOOD[2:]]:
        row = runs["iterator"][name]
        assert row["error"] is None and row["label"] in ("cat", "dog", "other")
        for other in (runs["pandas"], runs["udf"], udf_rows):
            assert other[name]["label"] == row["label"]
            assert abs(other[name]["score"] - row["score"]) < 1e-5


def test_embeddings_match_binary_file_and_path_clash_is_refused(spark, folder):
    images = spark.read.format("image").load(folder)
    ours = by_name(sv.embed(images, content_col="image").collect())
    files = by_name(sv.embed(spark.read.format("binaryFile").load(folder)).collect())
    for name in GOOD:
        a = np.asarray(ours[name]["embedding"])
        b = np.asarray(files[name]["embedding"])
        cosine = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        assert cosine > (0.98 if name.startswith("big") else 0.99999), (name, cosine)
    with pytest.raises(ConfigError, match="'path' column and an image column"):
        sv.classify(images.withColumn("path", F.lit("x")))
