"""The library API on one shared local Spark session, with images the tests draw."""

import numpy as np
import pytest

import sparkvision as sv
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model
from sparkvision.models.builtin.catalog import FEATURE_DIM

pytestmark = pytest.mark.spark


def _by_path(rows):
    return {r["path"].replace("file:", ""): r for r in rows}


def test_classify_binaryfile_frame_equals_single_process(spark, image_folder):
    df = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(image_folder)
    out = sv.classify(df).collect()
    assert len(out) == df.count() == 11
    assert "content" not in out[0].asDict()  # image bytes are not carried to the result
    rows = _by_path(out)
    paths = sorted(rows)
    local = predict_frame(paths, resolve_model("catdog"), batch_size=4)
    for path, (_, ref) in zip(paths, local.iterrows(), strict=True):
        assert rows[path]["error"] is None
        assert rows[path]["label"] == ref["label"]
        assert abs(rows[path]["score"] - ref["score"]) < 1e-5


def test_classify_path_column_and_imagenet_top5(spark, image_folder):
    paths = sorted(r["path"] for r in sv.classify(image_folder).select("path").collect())
    df = spark.createDataFrame([(p, i) for i, p in enumerate(paths)], "path string, id int")
    out = sv.classify(df, model="imagenet", path_col="path").orderBy("id").collect()
    assert [r["id"] for r in out] == list(range(len(paths)))  # the user's columns are kept
    local = predict_frame(paths, resolve_model("imagenet"), batch_size=32)
    for row, (_, ref) in zip(out, local.iterrows(), strict=True):
        assert row["top5_labels"] == list(ref["top5_labels"])
        np.testing.assert_allclose(row["top5_scores"], ref["top5_scores"], atol=1e-5)
        assert row["label"] == row["top5_labels"][0]


def test_embed_gives_full_length_float_vectors_equal_to_single_process(spark, image_folder):
    df = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(image_folder)
    result = sv.embed(df)
    assert result.schema["embedding"].dataType.simpleString() == "array<float>"
    rows = _by_path(result.collect())
    paths = sorted(rows)
    local = predict_frame(paths, resolve_model("embedding", task="embed"), batch_size=8)
    for path, ref in zip(paths, local["embedding"], strict=True):
        vec = np.asarray(rows[path]["embedding"], dtype=np.float32)
        assert vec.shape == (FEATURE_DIM,)
        np.testing.assert_allclose(vec, ref, atol=1e-5)


def test_predict_udf_in_with_column(spark, image_folder):
    df = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(image_folder)
    out = df.withColumn("pred", sv.predict_udf("catdog")("content")).select("path", "pred.*")
    assert set(out.columns) == {"path", "label", "score", "error", "error_kind"}
    assert out.where("label is null").count() == 0


def test_bad_image_gets_an_error_row_and_nulls(spark, tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "empty.jpg").write_bytes(b"")
    df = spark.createDataFrame([(str(tmp_path / "broken.jpg"),), (str(tmp_path / "empty.jpg"),),
                                (str(tmp_path / "gone.jpg"),)], "path string")
    rows = {r["path"].rsplit("/", 1)[1]: r for r in sv.classify(df).collect()}
    assert len(rows) == 3
    assert rows["empty.jpg"]["error_kind"] == "empty"
    assert rows["gone.jpg"]["error_kind"] == "missing"
    assert rows["broken.jpg"]["error"]
    assert all(r["label"] is None and r["score"] is None for r in rows.values())


def test_model_is_built_once_per_python_worker(spark, image_folder):
    from sparkvision.executor import cache_info

    paths = sorted(r["path"] for r in sv.classify(image_folder).select("path").collect())
    df = spark.createDataFrame([(p,) for p in paths * 4], "path string").repartition(8)
    # threads=2 makes a spec no other test uses, so its builds are counted from zero.
    spec_id = resolve_model("catdog", threads=2).model_id
    labels = sv.classify(df, path_col="path", threads=2, batch_size=4).select("label").collect()
    # (count() alone would skip the UDF)
    assert len(labels) == 44 and all(r["label"] for r in labels)

    def probe(batches):
        import pandas as pd

        for _ in batches:
            info = cache_info(spec_id)
            yield pd.DataFrame({"pid": [info["pid"]], "builds": [info["model_builds"]]})

    stats = (spark.range(0, 16, numPartitions=16)
             .mapInPandas(probe, "pid long, builds long").collect())
    builds = {r["pid"]: r["builds"] for r in stats}
    assert max(builds.values()) == 1  # built in a worker, and never twice in one process
    assert sum(builds.values()) <= 2  # local[2]: at most two Python workers ran it


def test_dataframe_without_image_column_is_a_clear_error(spark):
    df = spark.createDataFrame([(1,)], "id int")
    with pytest.raises(sv.InputError, match="binary 'content' column"):
        sv.classify(df)


def test_output_col_is_one_struct_and_user_columns_are_never_clobbered(spark, image_folder):
    paths = sorted(r["path"] for r in sv.classify(image_folder).select("path").collect())[:4]
    df = spark.createDataFrame([(p, "mine") for p in paths], "path string, label string")
    with pytest.raises(sv.ConfigError, match=r"already has column.*label.*output_col='pred'"):
        sv.classify(df, path_col="path")
    out = sv.classify(df, path_col="path", output_col="pred").orderBy("path").collect()
    assert [r["label"] for r in out] == ["mine"] * 4  # the user's own column, untouched
    local = predict_frame(paths, resolve_model("catdog"), batch_size=4)
    assert [r["pred"]["label"] for r in out] == list(local["label"])
    with pytest.raises(sv.ConfigError, match="already has a column 'label'"):
        sv.classify(df, path_col="path", output_col="label")
