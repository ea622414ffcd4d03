"""The report read on Spark: the same numbers and picks as the single-process reader, with
thumbnails made on the executors, and classify --report after a Spark run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.cli import run_cli
from helpers.drawing import write_images
from sparkvision.htmlreport.build import _gather_local, _gather_spark

pytestmark = pytest.mark.spark


def _table(folder: str) -> str:
    images = write_images(os.path.join(folder, "img"), [f"i{i}.jpg" for i in range(12)])
    rng = np.random.default_rng(1)
    n = 400
    labels = np.array(["cat", "dog", "other"])
    frame = pd.DataFrame({
        "path": [images[i % 12] if i % 50 else f"/nowhere/{i}.jpg" for i in range(n)],
        "label_true": labels[rng.integers(0, 2, n)], "label": labels[rng.integers(0, 3, n)],
        "score": rng.uniform(0.3, 1.0, n).astype("float32"),
    })
    frame["path"] = [p if i % 12 else f"{p}#{i}" for i, p in enumerate(frame["path"])]
    bad = np.arange(n) % 50 == 0
    frame.loc[bad, ["label", "score"]] = None
    frame["error"] = np.where(bad, "no file there", None)
    frame["error_kind"] = np.where(bad, "missing", None)
    out = os.path.join(folder, "t.parquet")
    os.makedirs(out)
    frame.to_parquet(os.path.join(out, "part-00000.parquet"), index=False)
    return out


def test_spark_and_local_readers_agree(spark, tmp_path):
    out = _table(str(tmp_path))
    limits = {"per_label": 5, "max_thumbs": 100, "max_failed": 3}
    on_spark = _gather_spark(spark, out, "parquet", {}, **limits)
    local = _gather_local(out, "parquet", {}, **limits)
    assert on_spark.label_counts == local.label_counts and sum(local.label_counts.values()) == 392
    assert on_spark.histograms == local.histograms and on_spark.confusion == local.confusion
    assert on_spark.failed_by_kind == local.failed_by_kind == {"missing": 8}
    assert [f.path for f in on_spark.failures] == [f.path for f in local.failures]

    def picks(data):
        return [(c.label, c.label_true, [t.path for t in c.items])
                for g in data.galleries for c in g.cells]

    assert picks(on_spark) == picks(local)
    shown = [t for g in on_spark.galleries for c in g.cells for t in c.items]
    assert len(shown) == 15 and all(len(g.cells) >= 2 for g in on_spark.galleries)
    made = [t for t in shown if t.image is not None]
    missing = [t for t in shown if t.image is None]
    assert made and all(t.image[:2] == b"\xff\xd8" for t in made)  # JPEG thumbnails
    assert all("#" in t.path and t.problem for t in missing)  # not a file: said, not fatal


def test_classify_report_after_a_spark_run(spark, image_folder, tmp_path):
    out = str(tmp_path / "preds.parquet")
    result = run_cli(["classify", image_folder, "--out", out, "--label-from", "folder",
                      "--quiet", "--report", str(tmp_path / "r.html")], in_process=True)
    assert result.rc == 0, result.output
    assert f"report: {tmp_path / 'r.html'}" in result.stdout
    assert run_cli(["report", out], in_process=True).rc == 0  # again, from the finished output
    html = Path(out, "_report.html").read_text(encoding="utf-8")
    assert len(re.findall(r'src="data:image/jpeg;base64,', html)) == 11
    assert "<th>execution</th><td>iterator</td>" in html and "Confusion matrix" in html
    assert spark.read.parquet(out).count() == 11  # the page does not disturb the table
