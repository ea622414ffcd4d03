"""Every execution mode (python, udf, pandas, iterator) gives the same answers."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from helpers.cli import run_cli
from helpers.drawing import write_images
from sparkvision.config import EXECUTIONS
from sparkvision.jobs.pipeline import run_job
from sparkvision.options import ModelRequest, RunConfig

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Seed-style names, several sizes and formats, and one file that is not an image."""
    root = tmp_path_factory.mktemp("modes")
    write_images(str(root), [f"cat.{i}.jpg" for i in range(4)] + ["dog.0.png"], size=(300, 220))
    write_images(str(root), ["dog.1.jpg", "dog.2.webp"], size=(900, 1400), seed=50)
    (root / "dog.3.jpg").write_bytes(b"<html>not a picture</html>")
    return str(root)


def _run(mixed, out, execution, task="classify", fmt=None):
    model = ModelRequest(model="catdog" if task == "classify" else "embedding", task=task,
                         batch_size=3)
    run = RunConfig(out=out, execution=execution, format=fmt, quiet=True,
                    label_from="filename" if task == "classify" else None)
    summary = run_job([mixed], model, run)
    return summary


def _read(out):
    return pd.read_parquet(out).sort_values("path").reset_index(drop=True)


@pytest.fixture(scope="module")
def classified(spark, mixed, tmp_path_factory):
    root = tmp_path_factory.mktemp("classified")
    summaries = {m: _run(mixed, str(root / m), m) for m in EXECUTIONS}
    return {m: _read(str(root / m)) for m in EXECUTIONS}, summaries


def test_every_mode_gives_the_same_labels_and_scores(classified):
    frames, _ = classified
    reference = frames["iterator"]
    assert len(reference) == 8
    for mode, frame in frames.items():
        assert list(frame.columns) == list(reference.columns), mode
        assert frame["path"].tolist() == reference["path"].tolist(), mode
        assert frame["label"].tolist() == reference["label"].tolist(), mode
        ok = reference["error"].isna()
        assert frame["error"].isna().tolist() == ok.tolist(), mode
        np.testing.assert_allclose(frame.loc[ok, "score"].to_numpy(np.float64),
                                   reference.loc[ok, "score"].to_numpy(np.float64),
                                   atol=1e-5, err_msg=mode)
        assert frame["error_kind"].tolist() == reference["error_kind"].tolist(), mode


def test_every_mode_gives_the_same_summary(classified):
    _, summaries = classified
    for mode, summary in summaries.items():
        assert (summary.inputs, summary.ok, summary.failed) == (8, 7, 1), mode
        assert summary.failed_by_kind == {"not_an_image": 1}, mode
        assert summary.labelled == 7 and summary.confusion == summaries["iterator"].confusion, mode


def test_every_mode_gives_the_same_embeddings(spark, mixed, tmp_path):
    frames = {}
    for mode in EXECUTIONS:
        _run(mixed, str(tmp_path / mode), mode, task="embed")
        frames[mode] = _read(str(tmp_path / mode))
    reference = frames["iterator"]
    ok = reference["error"].isna()
    expected = np.stack(reference.loc[ok, "embedding"].to_list())
    assert expected.shape == (7, 1280)
    for mode, frame in frames.items():
        got = np.stack(frame.loc[ok, "embedding"].to_list())
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=mode)
        assert frame.loc[~ok, "embedding"].isna().all(), mode


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_python_mode_writes_what_spark_writes(spark, mixed, tmp_path, fmt):
    """Same files layout, columns and values as the Spark writer, read back by Spark."""
    outs = {}
    for mode in ("python", "iterator"):
        outs[mode] = str(tmp_path / f"{mode}.{fmt}")
        _run(mixed, outs[mode], mode, task="embed" if fmt == "json" else "classify", fmt=fmt)
    assert os.path.isfile(os.path.join(outs["python"], "_SUCCESS"))
    read = (spark.read.option("header", "true").option("escape", '"').csv if fmt == "csv"
            else spark.read.json)
    python, iterator = (read(outs[m]).toPandas().sort_values("path").reset_index(drop=True)
                        for m in ("python", "iterator"))
    assert sorted(python.columns) == sorted(iterator.columns)
    assert len(python) == len(iterator) == 8
    if fmt == "csv":
        assert python["label"].tolist() == iterator["label"].tolist()
        assert python["error_kind"].tolist() == iterator["error_kind"].tolist()
    else:
        ok = iterator["error"].isna()
        got = np.array(python.loc[ok, "embedding"].to_list(), dtype=np.float32)
        want = np.array(iterator.loc[ok, "embedding"].to_list(), dtype=np.float32)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_python_mode_streams_in_batches(mixed, tmp_path, monkeypatch):
    """Never more than one batch of images is handed to the model code at once (a call of
    the runner gets a few batches, for object-store reads to run one batch ahead)."""
    import sparkvision.executor.runner as runner

    seen = []
    real = runner._predict_chunk

    def spy(items, spec, engine):
        seen.append(len(items))
        return real(items, spec, engine)

    monkeypatch.setattr(runner, "_predict_chunk", spy)
    summary = _run(mixed, str(tmp_path / "out"), "python")
    assert summary.inputs == 8
    assert seen == [3, 3, 2]


def test_python_mode_needs_no_spark(mixed, tmp_path):
    from pyspark.sql import SparkSession

    before = SparkSession.getActiveSession()
    _run(mixed, str(tmp_path / "out"), "python")
    assert SparkSession.getActiveSession() is before


def test_cli_execution_option(spark, mixed, tmp_path):
    out = str(tmp_path / "out")
    result = run_cli(["classify", mixed, "--out", out, "--execution", "udf", "--quiet",
                      "--label-from", "filename"], in_process=True)
    assert result.rc == 0, result.output
    assert "images: 8" in result.stdout
    with open(os.path.join(out, "_summary.json"), encoding="utf-8") as fh:
        summary = json.load(fh)
    assert summary["failed_by_kind"] == {"not_an_image": 1}


def test_unknown_execution_is_refused(tmp_path):
    # argparse refuses it: a usage error (exit status 2) before anything runs
    result = run_cli(["classify", str(tmp_path), "--out", str(tmp_path / "o"),
                      "--execution", "gpu"], in_process=True)
    assert result.rc == 2
    assert "invalid choice" in result.stderr
    from sparkvision.errors import ConfigError

    with pytest.raises(ConfigError, match="`execution` 'threads'; expected one of python, udf"):
        RunConfig(out="o", execution="threads")
