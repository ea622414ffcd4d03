"""`sparkvision classify --master spark://...` on a real standalone cluster (1 master, 2
workers) gives the same rows as local mode."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.cli import CliResult, run_cli
from helpers.drawing import write_images

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1500)]


def _cli(*args: str, cwd: str) -> CliResult:
    # A separate driver process: this test process already holds a local SparkContext.
    return run_cli([*args, "--quiet"], cwd=cwd)


def test_cluster_classify_equals_local(standalone_cluster, tmp_path):
    images = tmp_path / "images"
    names = [f"cat/cat.{i}.jpg" for i in range(6)] + [f"dog/dog.{i}.png" for i in range(6)]
    write_images(str(images), names, size=(300, 220), seed=40)
    (images / "dog" / "dog.99.jpg").write_bytes(b"not a jpeg")

    cluster_out, local_out = str(tmp_path / "cluster.parquet"), str(tmp_path / "local.parquet")
    ran = _cli("classify", str(images), "--out", cluster_out, "--label-from", "folder",
               "--master", standalone_cluster.master_url, cwd=str(tmp_path))
    assert ran.rc == 0, ran.stderr[-3000:]
    assert "accuracy:" in ran.stdout
    ran = _cli("classify", str(images), "--out", local_out, "--label-from", "folder", cwd=str(tmp_path))
    assert ran.rc == 0, ran.stderr[-3000:]

    cluster = pd.read_parquet(cluster_out).sort_values("path").reset_index(drop=True)
    local = pd.read_parquet(local_out).sort_values("path").reset_index(drop=True)
    assert len(cluster) == len(local) == 13
    assert list(cluster["path"]) == list(local["path"])
    assert list(cluster["label"]) == list(local["label"])
    assert list(cluster["error_kind"]) == list(local["error_kind"])
    ok = cluster["error"].isna()
    assert ok.sum() == 12
    assert (cluster.loc[ok, "score"] - local.loc[ok, "score"]).abs().max() < 1e-5
