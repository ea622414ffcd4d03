"""A Python worker that dies mid-task (``os._exit`` at its N-th model batch, through
SPARKVISION_FAULT_EXIT_AT_BATCH) is retried by Spark: the output is complete, once per input.
Without retries the run fails with exit status 3 and a message that says so."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from helpers.cli import CliResult, run_cli
from helpers.drawing import write_images
from sparkvision.executor.faults import ENV_AT_BATCH, ENV_MARKER

pytestmark = [pytest.mark.spark, pytest.mark.timeout(700)]

N_IMAGES = 48


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("fault-images"))
    return root, sorted(write_images(root, [f"img-{i:02d}.jpg" for i in range(N_IMAGES)],
                                     size=(96, 72)))


def classify(folder: str, out: str, master: str | None, marker: str) -> CliResult:
    """In a child process: the fault is set through its environment."""
    return run_cli(["classify", folder, "--out", out, "--quiet", "--batch-size", "4",
                    *(["--master", master] if master else [])],
                   env={ENV_AT_BATCH: "2", ENV_MARKER: marker})


def test_a_crashed_worker_is_retried_and_the_output_is_complete(spark, images, tmp_path):
    folder, inputs = images
    out, marker = str(tmp_path / "out.parquet"), str(tmp_path / "fault.marker")
    done = classify(folder, out, None, marker)  # the default master, local[*,4], retries
    assert done.rc == 0, done.stderr[-3000:]
    assert os.path.exists(marker), "no worker faulted: the test proved nothing"
    with open(marker, encoding="utf-8") as fh:
        assert "exited at model batch 2" in fh.read()
    frame = pd.read_parquet(out)
    assert frame["path"].is_unique
    assert sorted(frame["path"]) == inputs
    assert frame["error"].isna().all() and frame["label"].notna().all()


def test_without_retries_the_run_fails_with_status_3(spark, images, tmp_path):
    folder, _ = images
    out, marker = str(tmp_path / "out.parquet"), str(tmp_path / "fault.marker")
    done = classify(folder, out, "local[2]", marker)
    assert os.path.exists(marker)
    assert done.rc == 3, done.stderr[-3000:]
    assert "sparkvision: run failed:" in done.stderr
    message = done.stderr[done.stderr.index("sparkvision: run failed:"):]
    assert "Python worker exited unexpectedly (crashed)" in message.splitlines()[0]
    assert "--resume" in done.stderr
    # Nothing half-written is visible: committed part files only, if any.
    if os.path.isdir(out):
        visible = [f for f in os.listdir(out) if not f.startswith(("_", "."))]
        rows = sum(len(pd.read_parquet(os.path.join(out, f))) for f in visible)
        assert rows < N_IMAGES
