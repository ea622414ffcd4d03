"""`sparkvision train` -> `classify --model MODEL_DIR` round trips on three drawn classes,
the fused head against the embeddings with the head applied by hand, and the backbone
hash check.

The training photos are drawn from fixed seeds into fixed paths (helpers.drawing.FIXED_ROOT):
the holdout and the folds are dealt by a hash of each path, so with the same bytes at the same
paths every run splits and fits the same way, and the numbers are asserted exactly. A change
in them is a change in behaviour, never noise."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

import sparkvision as sv
from helpers.cli import run_cli
from helpers.drawing import PATTERNS, fixed_patterns, write_patterns
from sparkvision.errors import ConfigError, ModelError
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model
from sparkvision.models.heads import softmax

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

#: out-of-fold log-loss by regularisation strength, on the fixed training photos (fitted on
#: the driver to convergence)
EXPECTED_LOG_LOSS = {"0.001": 0.002807, "0.01": 0.008051, "0.1": 0.028202, "1": 0.112244}


@pytest.fixture(scope="module")
def trained(spark, tmp_path_factory):
    photos = fixed_patterns("train-16", 16, broken=("rings/rings.broken.jpg",))
    model_dir = str(tmp_path_factory.mktemp("train") / "model")
    result = run_cli(["train", photos, "--label-from", "folder", "--out", model_dir,
                      "--holdout", "0.25", "--quiet"], in_process=True)
    assert result.rc == 0, result.output
    return photos, model_dir


def test_train_writes_an_open_model_folder_and_its_report(trained, capsys):
    _, model_dir = trained
    assert {"card.toml", "head.npz", "backbone.json", "report.json"} <= set(os.listdir(model_dir))
    with open(os.path.join(model_dir, "report.json"), encoding="utf-8") as fh:
        report = json.load(fh)
    assert report["classes"] == sorted(PATTERNS)
    assert report["counts"] == {"checks": 16, "rings": 17, "stripes": 16}
    # the holdout takes round(25 %) of each class: 4 of 16 (the broken ring is left out)
    assert report["trained_on"] == 36 and report["fitted_on"] == "driver"
    # the fixed photos at their fixed paths: every fold, every strength, all 36 right
    assert report["cv_accuracy"] == 1.0
    assert report["cv_accuracy_by_reg"] == {"0.001": 1.0, "0.01": 1.0, "0.1": 1.0, "1": 1.0}
    assert report["cv_confusion"] == {k: {k: 12} for k in PATTERNS}
    # the strength with the lowest out-of-fold log-loss is the one chosen
    losses = report["cv_log_loss_by_reg"]
    assert set(losses) == {"0.001", "0.01", "0.1", "1"} and all(v > 0 for v in losses.values())
    assert losses[f"{report['regularisation']:g}"] == min(losses.values())
    assert report["cv_log_loss"] == pytest.approx(min(losses.values()), abs=1e-6)
    # equal to the last digits on this machine: the tolerance only allows for another CPU's
    # rounding (and another BLAS's order of sums)
    assert losses == pytest.approx(EXPECTED_LOG_LOSS, abs=5e-4)
    assert report["regularisation"] == 1e-3
    assert report["holdout_accuracy"] == 1.0
    assert report["holdout_confusion"] == {k: {k: 4} for k in PATTERNS}
    (failed,) = report["failed_images"]  # reported and left out, never a crash
    assert failed["path"].endswith("rings.broken.jpg") and failed["error_kind"]
    assert report["backbone"] == "embedding" and len(report["backbone_sha256"]) == 64
    with np.load(os.path.join(model_dir, "head.npz"), allow_pickle=False) as head:
        assert head["weights"].shape == (3, 1280) and head["bias"].shape == (3,)


def test_classify_with_the_trained_model_sorts_new_photos(trained, tmp_path):
    _, model_dir = trained
    photos = write_patterns(str(tmp_path / "new"), 6, seed=500)
    out, sorted_dir = str(tmp_path / "preds"), str(tmp_path / "sorted")
    assert run_cli(["classify", str(tmp_path / "new"), "--model", model_dir, "--out", out,
                    "--label-from", "folder", "--sort-into", sorted_dir, "--quiet"],
                   in_process=True).rc == 0
    preds = pd.read_parquet(out)
    assert len(preds) == len(photos) and preds["error"].isna().all()
    # labels do not depend on the paths: every one of the 18 new photos is sorted right
    assert preds["label"].tolist() == preds["label_true"].tolist()
    assert sorted(preds["label"]) == sorted(PATTERNS * 6)
    assert {len(s) for s in preds["scores"]} == {3}
    assert set(os.listdir(sorted_dir)) - {"_manifest.csv"} <= set(PATTERNS)


def test_fused_classify_equals_embed_then_the_head_by_hand(trained, tmp_path):
    _, model_dir = trained
    photos = write_patterns(str(tmp_path / "p"), 2, seed=900)
    fused = predict_frame(photos, resolve_model(model_dir), batch_size=4)
    vectors = predict_frame(photos, resolve_model("embedding", task="embed"), batch_size=4)
    with np.load(os.path.join(model_dir, "head.npz"), allow_pickle=False) as head:
        by_hand = softmax(np.stack(vectors["embedding"]) @ head["weights"].T + head["bias"])
    np.testing.assert_allclose(np.stack(fused["scores"]), by_hand, atol=1e-5)
    assert list(fused["label"]) == [sorted(PATTERNS)[i] for i in by_hand.argmax(1)]


def test_holdout_and_folds_are_stratified_by_class_and_repeatable(spark):
    from sparkvision.train.head_fit import _ml_frame

    sizes = {"a": 10, "b": 7, "c": 30}
    rows = [(f"/p/{c}/{i}.jpg", c, [float(i), 1.0]) for c, n in sizes.items() for i in range(n)]
    frame = spark.createDataFrame(rows, "path string, label_true string, embedding array<float>")
    split = _ml_frame(frame, sorted(sizes), 3, 0.25).select("label", "fold", "holdout")
    got = pd.DataFrame(split.collect(), columns=["label", "fold", "holdout"])
    for index, (name, n) in enumerate(sorted(sizes.items())):
        mine = got[got["label"] == index]
        assert mine["holdout"].sum() == int(n * 0.25 + 0.5), name  # Spark rounds half up
        per_fold = mine[~mine["holdout"]]["fold"].value_counts()
        assert set(per_fold.index) == {0, 1, 2} and per_fold.max() - per_fold.min() <= 1, name
    again = pd.DataFrame(split.collect(), columns=["label", "fold", "holdout"])
    pd.testing.assert_frame_equal(got.sort_values(list(got)).reset_index(drop=True),
                                  again.sort_values(list(got)).reset_index(drop=True))


def _toy_embeddings(spark, rows=45, features=6, seed=1):
    """Three classes of low-dimensional embeddings that overlap a little: every strength
    leaves some out-of-fold mistakes, so the fits' differences would show."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)) * 2
    y = (x[:, :3] + rng.normal(size=(rows, 3)) * 1.5).argmax(1)
    data = [(f"/toy/{i}.jpg", "abc"[c], [float(v) for v in r]) for i, (r, c) in
            enumerate(zip(x, y, strict=True))]
    return spark.createDataFrame(data, "path string, label_true string, embedding array<float>")


def test_the_driver_and_mllib_fit_the_same_head_and_report(spark, monkeypatch):
    """Both places minimise one objective: with MLlib run to convergence they give the same
    weights, the same out-of-fold predictions and the same losses."""
    from sparkvision.train import head_fit
    from sparkvision.train.head_fit import fit_head

    # two strengths of the four: MLlib runs a Spark job per iteration of each of its fits
    monkeypatch.setattr(head_fit, "REG_GRID", (0.01, 0.1))
    frame = _toy_embeddings(spark)
    fits = {on: fit_head(frame, ["a", "b", "c"], folds=2, holdout=0.2, max_iter=300,
                         fit_on=on) for on in ("driver", "spark")}
    driver, mllib = fits["driver"], fits["spark"]
    assert driver.cv_accuracy < 1.0  # the toy set is not separable: a real comparison
    assert (driver.reg, driver.trained_on, driver.features) == (mllib.reg, 36, 6)
    assert (driver.fitted_on, mllib.fitted_on) == ("driver", "spark")
    assert driver.by_reg == mllib.by_reg and driver.cv_confusion == mllib.cv_confusion
    assert driver.log_loss_by_reg == pytest.approx(mllib.log_loss_by_reg, abs=1e-4)
    assert driver.holdout_confusion == mllib.holdout_confusion
    np.testing.assert_allclose(driver.weights, mllib.weights, atol=2e-3)
    np.testing.assert_allclose(driver.bias, mllib.bias, atol=2e-3)


def test_auto_fits_on_the_driver_up_to_its_row_limit(spark, monkeypatch):
    from sparkvision.train import head_fit

    frame = _toy_embeddings(spark, rows=30)
    used = []
    monkeypatch.setattr(head_fit, "_fit_on_driver", lambda *a, **k: used.append("driver"))
    monkeypatch.setattr(head_fit, "_fit_on_spark", lambda *a, **k: used.append("spark"))
    for rows in (head_fit.DRIVER_ROWS, head_fit.DRIVER_ROWS + 1, None):
        head_fit.fit_head(frame, ["a", "b", "c"], folds=2, holdout=0.0, max_iter=5, rows=rows)
    assert used == ["driver", "spark", "spark"]
    with pytest.raises(ConfigError, match="`fit_on` must be one of auto, driver, spark"):
        head_fit.fit_head(frame, ["a", "b", "c"], folds=2, holdout=0.0, max_iter=5,
                          fit_on="gpu")


def test_a_class_with_no_training_rows_is_refused_before_any_fit(spark):
    from sparkvision.train.head_fit import fit_head

    frame = _toy_embeddings(spark, rows=30).where("label_true != 'c'")
    with pytest.raises(ConfigError, match="the training rows hold 2 of the 3 classes"):
        fit_head(frame, ["a", "b", "c"], folds=2, holdout=0.0, max_iter=5, fit_on="driver")


def test_log_loss_sums_minus_log_the_probability_of_the_true_class(spark):
    from pyspark.ml.linalg import Vectors

    from sparkvision.train.head_fit import _scored

    rows = [(Vectors.dense([0.9, 0.1]), 0.0, 0.0), (Vectors.dense([0.2, 0.8]), 0.0, 1.0),
            (Vectors.dense([0.3, 0.7]), 1.0, 1.0), (Vectors.dense([1.0, 0.0]), 1.0, 0.0)]
    frame = spark.createDataFrame(rows, ["probability", "label", "prediction"])
    expected = -(np.log(0.9) + np.log(0.2) + np.log(0.7) + np.log(1e-15))  # 0 is floored
    pairs, loss = _scored(frame)
    assert loss == pytest.approx(expected)
    assert sorted(pairs) == [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)]


def test_a_changed_backbone_is_refused(trained, tmp_path):
    _, model_dir = trained
    copy = str(tmp_path / "copy")
    shutil.copytree(model_dir, copy)
    path = os.path.join(copy, "backbone.json")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    data["sha256"] = "0" * 64
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    with pytest.raises(ModelError, match="has changed since the head was trained"):
        resolve_model(copy)


def test_python_api_trains_on_a_dataframe_and_evaluates(spark, trained, tmp_path):
    training_photos, _ = trained
    folder = fixed_patterns("train-api-6", 6, seed=200)
    photos = sorted(os.path.join(folder, kind, name) for kind in PATTERNS
                    for name in os.listdir(os.path.join(folder, kind)))
    df = spark.createDataFrame([(p, os.path.basename(os.path.dirname(p))) for p in photos],
                               "path string, kind string")
    model = sv.train(df, label_col="kind", out=str(tmp_path / "api-model"))
    assert isinstance(model, sv.TrainedModel) and model.classes == sorted(PATTERNS)
    with open(os.path.join(model.path, "report.json"), encoding="utf-8") as fh:
        report = json.load(fh)
    assert (report["trained_on"], report["cv_accuracy"], report["regularisation"]) == (
        18, 1.0, 1e-3)
    result = model.evaluate(training_photos, label_from="folder")
    # the broken ring is no labelled image: 48 of the 49 files
    assert result["accuracy"] == 1.0 and result["labelled"] == 48
    assert result["confusion"] == {k: {k: 16} for k in PATTERNS}
    saved = model.save(str(tmp_path / "saved"))
    assert "features" not in os.listdir(saved.path)
    rows = sv.classify(df, model=saved, path_col="path", output_col="pred").collect()
    assert [r["pred"]["label"] for r in rows] == [r["kind"] for r in rows]
    assert len(rows) == 18
