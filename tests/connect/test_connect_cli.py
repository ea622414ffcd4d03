"""The sparkvision command through a Spark Connect server (``--remote`` / ``SPARK_REMOTE``):
built-in and users' models, --sort-into, --resume, --conf and the progress bar, with results
equal to local mode (``train`` runs in test_connect_docs.py). Every client runs in a child
process (conftest.py)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from helpers.cli import bar_counts, cli_command, cli_env, run_cli
from helpers.drawing import write_images
from sparkconnect import ConnectServer
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model

pytestmark = [pytest.mark.connect, pytest.mark.timeout(1200)]


def _table(path: str) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    frame["path"] = frame["path"].str.removeprefix("file:")
    return frame.sort_values("path").reset_index(drop=True)


def _check(result, what: str = "") -> None:
    assert result.rc == 0, what + result.stdout[-2000:] + result.stderr[-4000:]


def test_classify_with_sorting_equals_local_mode(
    connect_server: ConnectServer, spark, tmp_path
) -> None:
    photos = tmp_path / "photos"
    write_images(str(photos), [f"cat/cat.{i}.jpg" for i in range(4)]
                 + [f"dog/dog.{i}.png" for i in range(4)])
    (photos / "dog" / "broken.jpg").write_bytes(b"not a jpeg")
    out, sorted_dir = tmp_path / "remote.parquet", tmp_path / "sorted-remote"
    common = ["classify", str(photos), "--label-from", "folder", "--chunk-size", "4"]
    result = run_cli([*common, "--out", str(out), "--sort-into", str(sorted_dir),
                      "--remote", connect_server.url,
                      "--conf", "spark.sql.parquet.compression.codec=gzip"])
    _check(result)
    assert "images: 9   ok: 8   failed: 1" in result.stdout

    local_out, local_sorted = tmp_path / "local.parquet", tmp_path / "sorted-local"
    local_run = run_cli([*common, "--out", str(local_out), "--sort-into", str(local_sorted),
                         "--master", "local[2]", "--quiet"], in_process=True)
    assert local_run.rc == 0
    local_summary = local_run.stdout
    remote, local = _table(str(out)), _table(str(local_out))
    assert remote["path"].tolist() == local["path"].tolist() and len(remote) == 9
    assert remote["label"].tolist() == local["label"].tolist()
    assert remote["error_kind"].tolist() == local["error_kind"].tolist()
    np.testing.assert_allclose(remote["score"].fillna(-1), local["score"].fillna(-1), atol=1e-5)
    # the same confusion matrix and the same sorted folders
    assert result.stdout.split("accuracy:")[1].split("results:")[0] == \
        local_summary.split("accuracy:")[1].split("results:")[0]
    for label in os.listdir(local_sorted):
        if os.path.isdir(local_sorted / label):
            expected = sorted(os.listdir(local_sorted / label))
            assert sorted(os.listdir(sorted_dir / label)) == expected
    # --conf reached the session: the part files are gzip-compressed Parquet
    parts = glob.glob(str(out / "part-*"))
    assert parts and all(p.endswith(".gz.parquet") for p in parts), parts


def test_resume_through_spark_remote_finishes_without_duplicates(
    connect_server: ConnectServer, tmp_path
) -> None:
    paths = write_images(str(tmp_path / "photos"), [f"img{i}.jpg" for i in range(12)])
    first = tmp_path / "first.txt"
    first.write_text("\n".join(sorted(paths)[:5]) + "\n")
    out = tmp_path / "vectors.parquet"
    env = {"SPARK_REMOTE": connect_server.url}  # no --remote: the environment says where
    _check(run_cli(["embed", str(first), "--out", str(out), "--execution", "pandas"], env=env))
    # what a run killed while committing leaves: a committed task of an unfinished job
    debris = out / "_temporary" / "0" / "task_202501010000_0001_m_000000"
    debris.mkdir(parents=True)
    shutil.copy(glob.glob(str(out / "part-*.parquet"))[0], debris / "part-00000-debris.parquet")

    result = run_cli(["embed", str(tmp_path / "photos"), "--out", str(out), "--resume",
                      "--execution", "pandas"], env=env)
    _check(result)
    assert "resumed: 5 images were already in the output; this run processed 7" in result.stdout
    assert not (out / "_temporary").exists()
    table = _table(str(out))
    assert table["path"].tolist() == sorted(paths)  # each input exactly once
    assert {len(v) for v in table["embedding"]} == {1280} and table["error"].isna().all()
    local = predict_frame(sorted(paths), resolve_model("embedding", task="embed"), batch_size=8)
    np.testing.assert_allclose(np.stack(table["embedding"]), np.stack(local["embedding"]),
                               atol=1e-4)


TINYNETS = '''
import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(2))
        self.head = nn.Linear(24, num_classes)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def build():
    return TinyNet()
'''


def test_users_onnx_and_torch_models_shipped_to_the_server(
    connect_server: ConnectServer, tmp_path
) -> None:
    import torch

    from byo_nets import export_onnx, trained_tiny_net

    photos = tmp_path / "photos"
    paths = sorted(write_images(str(photos), [f"p{i}.jpg" for i in range(6)]))
    onnx = export_onnx(trained_tiny_net(), str(tmp_path / "tiny.onnx"), size=32)
    code = tmp_path / "code"
    code.mkdir()
    (code / "connect_tinynets.py").write_text(TINYNETS)  # on no worker's path: --py-files
    weights = str(tmp_path / "tiny_state.pt")
    torch.save(trained_tiny_net(seed=11).state_dict(), weights)
    labels = ["circle", "square", "triangle"]

    # ONNX sent with spark.addArtifacts, run by the row UDF
    out_onnx = tmp_path / "onnx.parquet"
    _check(run_cli(["classify", str(photos), "--out", str(out_onnx), "--model", onnx,
                    "--labels", ",".join(labels), "--ship", "artifact", "--execution", "udf",
                    "--remote", connect_server.url]))
    # a state dict whose architecture comes from a .py file sent as an artifact
    out_torch = tmp_path / "torch.parquet"
    _check(run_cli(["classify", str(photos), "--out", str(out_torch), "--model", weights,
                    "--arch", "connect_tinynets:build", "--py-files",
                    str(code / "connect_tinynets.py"), "--image-size", "32",
                    "--labels", ",".join(labels), "--remote", connect_server.url],
                   cwd=str(tmp_path)))

    for out, spec in (
        (out_onnx, resolve_model(onnx, labels=labels)),
        (out_torch, resolve_model(weights, arch="connect_tinynets:build", image_size=32,
                                  labels=labels, py_files=[str(code / "connect_tinynets.py")])),
    ):
        table = _table(str(out))
        local = predict_frame(paths, spec, batch_size=4)
        assert table["path"].tolist() == paths and table["error"].isna().all()
        assert table["label"].tolist() == list(local["label"])
        np.testing.assert_allclose(table["score"], local["score"], atol=1e-5)


def test_conf_a_session_cannot_change_is_refused_with_where_to_set_it(
    connect_server: ConnectServer, tmp_path
) -> None:
    write_images(str(tmp_path / "photos"), ["a.jpg"])
    result = run_cli(["classify", str(tmp_path / "photos"), "--out", str(tmp_path / "o"),
                      "--remote", connect_server.url, "--conf", "spark.task.cpus=2"])
    assert result.rc == 2, result.stderr
    assert "a Spark Connect session cannot change spark.task.cpus" in result.stderr
    assert "start-connect-server.sh" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_progress_moves_before_the_end_on_800_photos(connect_server: ConnectServer,
                                                     tmp_path) -> None:
    # enough images for several seconds of model pass on warm workers (the bar redraws
    # every 0.5 s)
    write_images(str(tmp_path / "photos"), [f"img{i:03d}.jpg" for i in range(800)],
                 size=(96, 72))
    result = run_cli(["classify", str(tmp_path / "photos"), "--out", str(tmp_path / "o"),
                      "--batch-size", "16", "--remote", connect_server.url], tty=True)
    _check(result)
    counts = bar_counts(result.stderr)
    assert counts and counts[-1] == 800, result.stderr[-2000:]
    between = sorted({c for c in counts if 0 < c < 800})
    assert len(between) >= 3, counts  # several frames while the job ran
    assert counts == sorted(counts)  # never goes back


def _can_hide_folders() -> bool:
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True) \
        if shutil.which("unshare") else None
    return probe is not None and probe.returncode == 0


def test_a_client_that_cannot_see_the_photos_classifies_them_through_the_server(
    connect_server: ConnectServer, tmp_path
) -> None:
    """The photo folder is hidden from the client (an empty tmpfs mounted over it in the
    client's own mount namespace); the server lists and reads it as it sees it."""
    if not _can_hide_folders():
        pytest.fail("this test needs `unshare -m` (root, or user namespaces) to hide a "
                    "folder from one process")
    photos = tmp_path / "photos"
    write_images(str(photos), [f"cat/cat.{i}.jpg" for i in range(3)]
                 + [f"dog/_DSC000{i}.JPG" for i in range(3)])
    out, local_out = tmp_path / "hidden.parquet", tmp_path / "local.parquet"
    args = ["classify", str(photos), "--label-from", "folder", "--quiet"]
    hidden = ["unshare", "-m", "sh", "-c",
              f'mount -t tmpfs none "{photos}" && ls -A "{photos}" | wc -l && exec "$@"', "sh",
              *cli_command([*args, "--out", str(out), "--remote", connect_server.url])]
    done = subprocess.run(hidden, env=cli_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.splitlines()[0].strip() == "0"  # the client saw an empty folder
    local = run_cli([*args, "--out", str(local_out), "--master", "local[2]"], in_process=True)
    assert local.rc == 0, local.output
    remote, here = _table(str(out)), _table(str(local_out))
    assert len(remote) == 6 and remote["path"].tolist() == here["path"].tolist()
    assert remote["label"].tolist() == here["label"].tolist()
    np.testing.assert_allclose(remote["score"], here["score"], atol=1e-5)
