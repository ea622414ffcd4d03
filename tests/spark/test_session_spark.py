"""The command on a classic local session, in a fresh process each (the JVM's start-up lines
and the workers' interpreter are per process): one clear error when the workers' Python lacks
sparkvision, no Spark chatter unless --verbose, --conf reaching the session, and a progress
bar that counts images while the job runs."""

from __future__ import annotations

import glob
import venv

import pytest

from helpers.cli import bar_counts, run_cli
from helpers.drawing import write_images

pytestmark = [pytest.mark.spark, pytest.mark.timeout(700)]

CHATTER = ("Using incubator modules", "Setting default log level")


def test_workers_without_sparkvision_get_one_clear_error(tmp_path) -> None:
    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)  # the same Python version, no packages at all
    python = str(bare / "bin" / "python")
    write_images(str(tmp_path / "photos"), ["a.jpg", "b.jpg"])
    out = tmp_path / "out"
    result = run_cli(["classify", str(tmp_path / "photos"), "--out", str(out),
                      "--master", "local[1]", "--conf", f"spark.pyspark.python={python}"])
    assert result.rc == 2, result.stdout + result.stderr[-3000:]
    err = result.stderr
    assert f"Spark's Python workers run {python}" in err
    assert "cannot import sparkvision" in err and "onnxruntime" in err
    for fix in ("PYSPARK_PYTHON", "spark.pyspark.python", "install sparkvision",
                "--py-files"):
        assert fix in err
    assert "Traceback" not in err and err.count("sparkvision: error") == 1
    assert not any(line in err for line in CHATTER), err
    assert not out.exists()


def test_progress_counts_images_and_verbose_shows_spark(tmp_path) -> None:
    # enough images for several seconds of model pass on warm workers (the bar redraws
    # every 0.5 s)
    write_images(str(tmp_path / "photos"), [f"img{i:03d}.jpg" for i in range(800)],
                 size=(96, 72))
    out = tmp_path / "out"
    result = run_cli(["classify", str(tmp_path / "photos"), "--out", str(out),
                      "--master", "local[2]", "--batch-size", "16", "--verbose",
                      "--conf", "spark.sql.parquet.compression.codec=gzip"], tty=True)
    assert result.rc == 0, result.stdout + result.stderr[-3000:]
    counts = bar_counts(result.stderr)
    assert counts and counts[-1] == 800, result.stderr[-2000:]
    assert len({c for c in counts if 0 < c < 800}) >= 3, counts  # two tasks, yet it moves
    assert counts == sorted(counts)
    assert "Using incubator modules" in result.stderr  # --verbose: Spark's own lines too
    parts = glob.glob(str(out / "part-*"))
    assert parts and all(p.endswith(".gz.parquet") for p in parts), parts
