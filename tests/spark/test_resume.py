"""--resume: a run killed with SIGKILL keeps its committed chunks; the rerun processes only
what is missing and the result equals an uninterrupted run, with no duplicates."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import psutil
import pyarrow.parquet as pq
import pytest

from helpers.cli import run_cli, start_cli
from helpers.drawing import write_images

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

N_IMAGES = 160


@pytest.fixture(scope="module")
def many_images(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("many"))
    names = [f"{'cat' if i % 2 else 'dog'}/img-{i:03d}.jpg" for i in range(N_IMAGES)]
    return root, sorted(write_images(root, names, size=(96, 72)))


def committed_parts(out: str) -> list[str]:
    if not os.path.isdir(out):
        return []
    return sorted(os.path.join(out, f) for f in os.listdir(out) if not f.startswith(("_", ".")))


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(spark, many_images, tmp_path):
    folder, inputs = many_images
    out = str(tmp_path / "killed.parquet")
    proc = start_cli(
        ["classify", folder, "--out", out, "--quiet", "--batch-size", "4", "--chunk-size", "8",
         "--master", "local[2]"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not committed_parts(out):
            assert proc.poll() is None, f"the run ended before a chunk was committed: " \
                f"{proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "no chunk committed within 300 s"
            time.sleep(0.05)
        group = [p for p in psutil.process_iter() if _pgid(p) == proc.pid]
        assert len(group) >= 2  # the driver and its JVM (and Python workers) all die
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        psutil.wait_procs(group, timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # What the kill left: whole part files only (each readable), fewer rows than inputs.
    parts = committed_parts(out)
    left = sum(pq.read_table(p).num_rows for p in parts)
    assert 0 < left < N_IMAGES, f"{left} rows committed: the kill did not land mid-run"

    assert run_cli(["classify", folder, "--out", out, "--quiet", "--resume", "--batch-size", "4",
                    "--chunk-size", "64"], in_process=True).rc == 0
    assert not os.path.exists(os.path.join(out, "_temporary"))
    resumed = pd.read_parquet(out)
    assert resumed["path"].is_unique, "a resumed row was written twice"
    assert sorted(resumed["path"]) == inputs
    assert resumed["error"].isna().all()
    summary = pd.read_json(os.path.join(out, "_summary.json"), typ="series")
    assert summary["resumed"] == left and summary["inputs"] == N_IMAGES

    ref_out = str(tmp_path / "reference.parquet")
    assert run_cli(["classify", folder, "--out", ref_out, "--quiet", "--batch-size", "4"],
                   in_process=True).rc == 0
    reference = pd.read_parquet(ref_out).set_index("path").sort_index()
    resumed = resumed.set_index("path").sort_index()
    assert list(resumed.index) == list(reference.index)
    assert (resumed["label"] == reference["label"]).all()
    assert (resumed["score"] - reference["score"]).abs().max() < 1e-4


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None


def test_resume_ignores_uncommitted_debris_and_fills_gaps(spark, many_images, tmp_path):
    """What a killed commit can leave: a torn part file under _temporary, and a chunk whose
    part files were never moved into place. Resume removes the first and redoes the second."""
    folder, inputs = many_images
    out = str(tmp_path / "out.parquet")
    assert run_cli(["classify", folder, "--out", out, "--quiet", "--chunk-size", "40"],
                   in_process=True).rc == 0
    parts = committed_parts(out)
    assert len(parts) >= 4  # four chunks, each its own committed job

    lost = pq.read_table(parts[0]).num_rows
    attempt = os.path.join(out, "_temporary", "0", "_temporary", "attempt_202401010000_0001_m_0")
    os.makedirs(attempt)
    with open(parts[0], "rb") as fh:  # a half-written copy of a part file
        torn = fh.read()
    with open(os.path.join(attempt, os.path.basename(parts[0])), "wb") as fh:
        fh.write(torn[: len(torn) // 2])
    os.unlink(parts[0])
    os.unlink(os.path.join(out, "_SUCCESS"))

    assert run_cli(["classify", folder, "--out", out, "--quiet", "--resume"],
                   in_process=True).rc == 0
    assert not os.path.exists(os.path.join(out, "_temporary"))
    frame = pd.read_parquet(out)
    assert frame["path"].is_unique and sorted(frame["path"]) == inputs
    summary = pd.read_json(os.path.join(out, "_summary.json"), typ="series")
    assert summary["resumed"] == N_IMAGES - lost

    # Nothing missing: a resume is a no-op that still reports the whole output.
    before = committed_parts(out)
    assert run_cli(["classify", folder, "--out", out, "--quiet", "--resume"],
                   in_process=True).rc == 0
    assert committed_parts(out) == before


def test_resume_without_an_earlier_output_runs_everything(spark, many_images, tmp_path):
    folder, inputs = many_images
    out = str(tmp_path / "fresh.json")
    assert run_cli(["classify", folder, "--out", out, "--quiet", "--resume"],
                   in_process=True).rc == 0
    assert all(p.endswith(".json") for p in committed_parts(out))
    rows = spark.read.json(out).select("path").collect()
    assert sorted(r["path"] for r in rows) == inputs


def test_resume_refuses_other_settings_and_overwrite(spark, many_images, tmp_path):
    folder, _ = many_images
    small = str(tmp_path / "small")
    shutil.copytree(os.path.join(folder, "cat"), os.path.join(small, "cat"))
    out = str(tmp_path / "o.parquet")
    assert run_cli(["classify", small, "--out", out, "--quiet"], in_process=True).rc == 0
    refused = run_cli(["embed", small, "--out", out, "--quiet", "--resume"], in_process=True)
    assert refused.rc == 2
    err = refused.stderr
    assert "other settings" in err and "task: earlier 'classify', now 'embed'" in err
    assert run_cli(["classify", small, "--out", out, "--quiet", "--resume", "--overwrite"],
                   in_process=True).rc == 2
    assert run_cli(["classify", small, "--out", out, "--quiet", "--resume",
                    "--execution", "python"], in_process=True).rc == 2
