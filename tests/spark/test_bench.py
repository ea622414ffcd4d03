"""`sparkvision bench` end to end on a tiny data set: every mode, peer and ceiling."""

import csv
import importlib.util
import os

import pytest

from helpers.cli import run_cli
from sparkvision.bench.registry import ALL_RUNNERS

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

PEER_MODULES = {"seed": "torch", "predict_batch_udf": "pyspark", "ray": "ray", "daft": "daft"}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    code = run_cli(["bench", "--sizes", "3,6", "--peers", "--out", str(out), "--warmup", "2",
                    "--batch-size", "4", "--timeout-s", "600"], in_process=True).rc
    assert code == 0
    with open(out / "results.csv", newline="") as fh:
        return out, list(csv.DictReader(fh))


def test_every_runner_has_a_row_per_size(sweep):
    _, rows = sweep
    got = {(r["mode"], int(r["n_images"])) for r in rows}
    expected = {(name, n) for name in (*ALL_RUNNERS, "ceiling-decode+engine") for n in (3, 6)}
    assert got == expected


def test_runners_ran_or_say_how_to_install_them(sweep):
    out, rows = sweep
    for row in rows:
        module = PEER_MODULES.get(row["mode"])
        if module and importlib.util.find_spec(module) is None:
            assert row["status"] == "skipped", row
            assert "pip install 'sparkvision[bench]'" in row["note"], row
            continue
        assert row["status"] in ("ok", "derived"), (row, _log(out, row["mode"]))
        assert float(row["seconds"]) > 0 and float(row["images_per_s"]) > 0
        if row["status"] == "ok":
            assert float(row["peak_rss_mb"]) > 10 and float(row["startup_s"]) >= 0
            assert int(row["cores"]) >= 1 and int(row["batch_size"]) == 4


def test_chart_and_report_and_regeneration(sweep):
    out, _ = sweep
    png = (out / "bench.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    os.unlink(out / "bench.png")
    os.unlink(out / "report.md")
    result = run_cli(["bench-report", str(out)], in_process=True)
    assert result.rc == 0, result.output
    printed = result.stdout
    assert "| runner | 3 | 6 |" in printed and "| iterator |" in printed
    assert (out / "bench.png").exists()
    assert (out / "report.md").read_text().strip() == printed.strip()


def test_make_dataset_command(tmp_path):
    result = run_cli(["make-dataset", "--n", "4", "--out", str(tmp_path), "--seed", "7"],
                     in_process=True)
    assert result.rc == 0, result.output
    assert "4 images in" in result.stdout
    assert sorted(p.name for p in tmp_path.glob("*.jpg")) == [
        "cat.0.jpg", "cat.1.jpg", "dog.0.jpg", "dog.1.jpg"]


def _log(out, name):
    path = out / "logs" / f"{name}.log"
    return path.read_text()[-2000:] if path.exists() else ""
