"""The other Spark commands through a Spark Connect server: ``dedup`` (with its page),
``report`` and ``watch --once``, each with ``--remote`` and compared with local mode. Every
client runs in a child process (conftest.py)."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from deltalake import DeltaTable

from helpers.cli import run_cli
from helpers.drawing import write_images
from helpers.photos import write_photos
from sparkconnect import ConnectServer
from sparkvision.dedup.nearset import TRUTH, make_near_duplicate_set

pytestmark = [pytest.mark.connect, pytest.mark.timeout(1200)]


def _check(result, what: str = "") -> None:
    assert result.rc == 0, what + result.stdout[-2000:] + result.stderr[-4000:]


def _groups(path: str) -> pd.DataFrame:
    table = pd.read_parquet(path)
    table["path"] = table["path"].str.removeprefix("file:")
    return table.sort_values("path").reset_index(drop=True)


def test_dedup_and_its_page_over_connect_equal_local_mode(
    connect_server: ConnectServer, spark, tmp_path
) -> None:
    photos = tmp_path / "photos"
    make_near_duplicate_set(write_photos(str(tmp_path / "src"), ["coffee", "rocket"]),
                            str(photos))
    os.unlink(photos / TRUTH)
    # relative --out and --report: the server must get them as this process sees them
    result = run_cli(["dedup", str(photos), "--out", "remote.parquet", "--report",
                      "dups.html", "--remote", connect_server.url], cwd=str(tmp_path))
    _check(result)
    assert (tmp_path / "dups.html").stat().st_size > 1000
    assert run_cli(["dedup", str(photos), "--out", str(tmp_path / "local.parquet"),
                    "--master", "local[2]"], in_process=True).rc == 0
    remote, local = _groups(str(tmp_path / "remote.parquet")), _groups(
        str(tmp_path / "local.parquet"))
    assert len(remote) > 4 and "near" in set(remote["kind"])
    pd.testing.assert_frame_equal(remote.drop(columns=["group", "similarity"]),
                                  local.drop(columns=["group", "similarity"]))
    assert (remote["similarity"] - local["similarity"]).abs().max() < 1e-4

    # classify --report, then the report command on the finished output, run by the server
    write_images(str(tmp_path / "pets"), ["cat/a.jpg", "dog/b.png"])
    _check(run_cli(["classify", "pets", "--out", "preds.parquet", "--quiet", "--report",
                    "first.html", "--label-from", "folder", "--remote", connect_server.url],
                   cwd=str(tmp_path)))
    result = run_cli(["report", "preds.parquet", "--out", "again.html", "--remote",
                      connect_server.url], cwd=str(tmp_path))
    _check(result)
    for page in ("first.html", "again.html"):
        html = (tmp_path / page).read_text(encoding="utf-8")
        assert "a.jpg" in html and "b.png" in html and "data:image/jpeg;base64," in html


@pytest.mark.parametrize("out", ["labels.parquet", "labels.delta"])
def test_watch_once_over_connect_then_only_new_files(connect_server: ConnectServer,
                                                     tmp_path, out: str) -> None:
    incoming = tmp_path / "incoming"
    write_images(str(incoming), [f"cat/c{i}.jpg" for i in range(3)])
    argv = ["watch", "incoming", "--out", out, "--checkpoint", "ckpt", "--once",
            "--remote", connect_server.url]
    _check(run_cli(argv, cwd=str(tmp_path)))
    write_images(str(incoming), [f"dog/d{i}.png" for i in range(2)])
    result = run_cli(argv, cwd=str(tmp_path))
    _check(result, "second wave: ")
    assert "2 images in 1 batches this run" in result.stderr
    table = (pd.read_parquet(tmp_path / out) if out.endswith(".parquet")
             else DeltaTable(str(tmp_path / out)).to_pandas())
    names = sorted(os.path.basename(p) for p in table["path"])
    assert names == ["c0.jpg", "c1.jpg", "c2.jpg", "d0.png", "d1.png"]  # each exactly once
    assert table["error"].isna().all() and table["label"].notna().all()
