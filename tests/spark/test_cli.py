"""The command line, run in-process on the shared Spark session."""

import json
import os

import pandas as pd
import pytest

from helpers.cli import run_cli
from helpers.drawing import write_images

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def seed_named(tmp_path_factory):
    """Flat folder named like the seed's data: cat.1.jpeg, dog.2.jpeg ..."""
    root = tmp_path_factory.mktemp("seed")
    write_images(str(root),
                 [f"cat.{i}.jpeg" for i in range(3)] + [f"dog.{i}.jpeg" for i in range(3)])
    return str(root)


def test_classify_parquet_with_accuracy_and_sorting(spark, seed_named, tmp_path):
    out, sorted_dir = str(tmp_path / "preds.parquet"), str(tmp_path / "sorted")
    result = run_cli(["classify", seed_named, "--out", out, "--label-from", "filename",
                      "--sort-into", sorted_dir, "--quiet"], in_process=True)
    assert result.rc == 0, result.output
    printed = result.stdout
    assert "accuracy:" in printed and "true \\ pred" in printed
    frame = pd.read_parquet(out)
    assert len(frame) == 6
    assert {"path", "label", "score", "error", "error_kind", "label_true"} <= set(frame.columns)
    assert sorted(frame["label_true"]) == ["cat"] * 3 + ["dog"] * 3
    assert all(os.path.isabs(p) for p in frame["path"])
    # every image was copied under its predicted label, the sources stayed
    manifest = pd.read_csv(os.path.join(sorted_dir, "_manifest.csv"))
    assert len(manifest) == 6 and set(manifest["action"]) == {"copied"}
    for _, row in manifest.iterrows():
        assert os.path.basename(os.path.dirname(row["destination"])) == row["label"]
        assert os.path.isfile(row["destination"]) and os.path.isfile(row["source"])
    with open(os.path.join(out, "_summary.json"), encoding="utf-8") as fh:
        summary = json.load(fh)
    assert summary["inputs"] == 6 and summary["labelled"] == 6
    # where the time went: phases adding up to the wall time, the workers' stages (their
    # datagrams are listened to with --quiet too)
    breakdown = summary["breakdown"]
    phases = breakdown["phases"]
    assert {"listing", "prepare", "workers", "model_pass", "summary", "sort",
            "other"} <= set(phases)
    assert sum(phases.values()) == pytest.approx(breakdown["wall_s"], rel=0.05)
    assert phases["model_pass"] <= breakdown["wall_s"] and summary["seconds"] <= \
        breakdown["wall_s"]
    workers = breakdown["workers"]
    assert workers["engine"] > 0 and workers["decode"] > 0 and breakdown["cores"] >= 1


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_classify_other_formats(spark, seed_named, tmp_path, fmt):
    out = str(tmp_path / f"preds.{fmt}")
    assert run_cli(["classify", seed_named, "--out", out, "--quiet"], in_process=True).rc == 0
    reader = spark.read.option("header", "true").csv if fmt == "csv" else spark.read.json
    rows = reader(out).collect()
    assert len(rows) == 6 and all(r["label"] in ("cat", "dog", "other") for r in rows)


def test_delta_output(spark, seed_named, tmp_path):
    deltalake = pytest.importorskip("deltalake", reason="the delta extra is not installed")
    out = str(tmp_path / "preds.delta")
    assert run_cli(["classify", seed_named, "--out", out, "--format", "delta", "--quiet"],
                   in_process=True).rc == 0
    table = deltalake.DeltaTable(out).to_pyarrow_table()
    assert table.num_rows == 6 and "label" in table.column_names


def test_embed_writes_vectors(spark, seed_named, tmp_path):
    out = str(tmp_path / "vectors.parquet")
    assert run_cli(["embed", seed_named, "--out", out, "--quiet"], in_process=True).rc == 0
    frame = pd.read_parquet(out)
    assert len(frame) == 6 and {len(v) for v in frame["embedding"]} == {1280}


def test_existing_output_is_not_overwritten_without_flag(spark, seed_named, tmp_path):
    out = str(tmp_path / "p.parquet")
    assert run_cli(["classify", seed_named, "--out", out, "--quiet"], in_process=True).rc == 0
    again = run_cli(["classify", seed_named, "--out", out, "--quiet"], in_process=True)
    assert again.rc == 2
    assert "already exists" in again.stderr
    assert run_cli(["classify", seed_named, "--out", out, "--quiet", "--overwrite"],
                   in_process=True).rc == 0


def test_missing_input_is_a_usage_error(tmp_path):
    result = run_cli(["classify", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")],
                     in_process=True)
    assert result.rc == 2
    assert "does not exist" in result.stderr


def test_installed_console_script_runs():
    result = run_cli(["classify", "--help"], timeout=120)  # the console script, in a child
    assert result.rc == 0, result.output
    assert "--sort-into" in result.stdout and "--label-from" in result.stdout


def test_an_output_uri_gets_its_summary_and_run_record_through_hadoop(spark, seed_named,
                                                                      tmp_path):
    """``--out file:///...`` is written by Spark's writers, and so are the files beside it
    (through the Hadoop file system, as for hdfs:// or s3a://); --resume reads the record
    there."""
    folder = tmp_path / "uri-preds.parquet"
    out = folder.as_uri()
    assert out.startswith("file:///")
    first = run_cli(["classify", seed_named, "--out", out, "--quiet"], in_process=True)
    assert first.rc == 0, first.output
    summary = json.loads((folder / "_summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"] == 6 and summary["output"] == out
    record = json.loads((folder / "_sparkvision_run.json").read_text(encoding="utf-8"))
    assert record["model"] == "catdog"
    again = run_cli(["classify", seed_named, "--out", out, "--resume", "--quiet"],
                    in_process=True)
    assert again.rc == 0, again.output
    assert len(pd.read_parquet(folder)) == 6  # nothing added
    other = run_cli(["classify", seed_named, "--out", out, "--resume", "--model", "imagenet",
                     "--quiet"], in_process=True)
    assert other.rc == 2 and "cannot resume" in other.stderr, other.output
