"""A folder of every kind of broken input, classified on Spark: one row per input, each
with a result or the expected ``error_kind``; the run summary counts them; the exit status
follows ``--fail-on-error``; file names survive CSV and JSON output untouched."""

from __future__ import annotations

import json
import os
from collections import Counter

import pandas as pd
import pytest

import sparkvision as sv
from helpers.badfiles import EXPECTED, break_after_listing, make_bad_inputs
from helpers.cli import run_cli
from helpers.drawing import write_images
from sparkvision.sinks.tables import read_table, write_table
from sparkvision.sources import resolve_inputs

pytestmark = pytest.mark.spark


@pytest.fixture()
def bad_folder(tmp_path):
    folder = str(tmp_path / "bad")
    paths = make_bad_inputs(folder)
    yield folder, paths


def test_classify_gives_one_row_per_input_with_its_error_kind(spark, bad_folder):
    folder, paths = bad_folder
    listed = resolve_inputs(folder)
    assert sorted(os.path.basename(p) for p in listed) == sorted(EXPECTED)
    frame = spark.createDataFrame([(p,) for p in listed], "path string")
    sock = break_after_listing(paths)  # files change between listing and reading
    try:
        rows = sv.classify(frame, path_col="path", batch_size=4).collect()
    finally:
        if sock is not None:
            sock.close()
    assert len(rows) == len(EXPECTED)
    by_name = {os.path.basename(r["path"]): r for r in rows}
    assert len(by_name) == len(rows)  # exactly once each
    assert {name: r["error_kind"] for name, r in by_name.items()} == EXPECTED
    for name, row in by_name.items():
        if EXPECTED[name] is None:
            assert row["error"] is None and row["label"] in ("cat", "dog", "other"), name
            assert 0.0 <= row["score"] <= 1.0, name
        else:
            assert row["label"] is None and row["score"] is None, name
            assert row["error"] and len(row["error"]) > 20, name


def test_cli_summary_counts_every_kind_and_exit_status(spark, bad_folder, tmp_path):
    folder, paths = bad_folder
    sock = break_after_listing(paths)  # before the run: 'vanishes' is simply not listed
    try:
        expected = {n: k for n, k in EXPECTED.items() if n != "vanishes.jpg"}
        out = str(tmp_path / "preds.parquet")
        result = run_cli(["classify", folder, "--out", out, "--quiet", "--batch-size", "4"],
                         in_process=True)
        assert result.rc == 0, result.output
        printed = result.stdout
        with open(os.path.join(out, "_summary.json"), encoding="utf-8") as fh:
            summary = json.load(fh)
        kinds = Counter(k for k in expected.values() if k is not None)
        assert summary["inputs"] == len(expected)
        assert summary["ok"] == sum(1 for k in expected.values() if k is None)
        assert summary["failed"] == sum(kinds.values())
        assert summary["failed_by_kind"] == dict(kinds)
        assert summary["seconds"] > 0 and summary["images_per_s"] > 0
        for kind, count in kinds.items():
            assert f"failed ({kind}): {count}" in printed
        frame = pd.read_parquet(out)
        assert len(frame) == len(expected) and frame["path"].is_unique

        again = str(tmp_path / "again.parquet")
        failing = run_cli(["classify", folder, "--out", again, "--quiet", "--fail-on-error"],
                          in_process=True)
        assert failing.rc == 1
        assert f"{sum(kinds.values())} of {len(expected)} images failed" in failing.stderr
    finally:
        if sock is not None:
            sock.close()


def test_fail_on_error_exits_zero_when_nothing_failed(spark, tmp_path):
    folder = str(tmp_path / "good")
    write_images(folder, ["a.jpg", "b.png"])
    assert run_cli(["classify", folder, "--out", str(tmp_path / "o.json"), "--quiet",
                    "--fail-on-error"], in_process=True).rc == 0
    summary = json.loads((tmp_path / "o.json" / "_summary.json").read_text())
    assert summary["failed"] == 0 and summary["failed_by_kind"] == {}


ODD_NAMES = [
    "<script>alert(1)<script>.jpg",
    'comma, "quote" & \'single\'.jpg',
    "new\nline.jpg",
    "back\\slash.jpg",
    "tab\there.jpg",
    "ünïcödé 猫.jpg",
    "=cmd()|calc.jpg",
]


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_file_names_survive_the_table_writers(spark, tmp_path, fmt):
    names = [f"/data/{n}" for n in ODD_NAMES]
    df = spark.createDataFrame([(n, "cat", None) for n in names],
                               "path string, label string, error string")
    out = str(tmp_path / f"t.{fmt}")
    write_table(df, out, fmt)
    back = read_table(spark, out, fmt).collect()
    assert sorted(r["path"] for r in back) == sorted(names)
    assert {r["label"] for r in back} == {"cat"} and {r["error"] for r in back} == {None}


@pytest.mark.parametrize("execution", ["iterator", "python"])
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_cli_output_keeps_odd_file_names(spark, tmp_path, fmt, execution):
    folder = str(tmp_path / "odd")
    written = write_images(folder, ODD_NAMES)
    out = str(tmp_path / f"preds.{fmt}")
    assert run_cli(["classify", folder, "--out", out, "--quiet", "--execution", execution],
                   in_process=True).rc == 0
    rows = read_table(spark, out, fmt).collect()
    assert sorted(r["path"] for r in rows) == sorted(written)
    assert all(r["error"] is None for r in rows)
    with open(os.path.join(out, "_summary.json"), encoding="utf-8") as fh:
        summary = json.load(fh)
    assert summary["inputs"] == len(ODD_NAMES) and summary["ok"] == len(ODD_NAMES)
