"""Jobs through a local Spark Connect server (tools/sparkconnect.py): a DataFrame count, and
Pandas UDFs that import sparkvision in the server's Python workers, which must run this venv's
Python. The client runs in a child process (see conftest.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sparkconnect
import sparkdaemons
import sparkvision
from helpers.drawing import write_images
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model

pytestmark = [pytest.mark.connect, pytest.mark.timeout(700)]

CLIENT = r"""
import json, os, sys

url, server_pid, images = sys.argv[1], int(sys.argv[2]), sys.argv[3]

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql.functions import pandas_udf

import sparkvision as sv

spark = SparkSession.builder.remote(url).getOrCreate()


@pandas_udf("string")
def where(ids: pd.Series) -> pd.Series:
    import os, sys
    import sparkvision

    pid, ancestors = os.getpid(), []
    while pid > 1:  # up the process tree, to show the server JVM runs this Python worker
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
        ancestors.append(pid)
    return pd.Series([json.dumps([sys.executable, sparkvision.__file__, server_pid in ancestors,
                                  os.getpid()])] * len(ids))


try:
    result = {
        "session": type(spark).__module__,
        "count": spark.range(0, 1000, numPartitions=4).count(),
        "where": sorted({r[0] for r in
                         spark.range(8, numPartitions=2).select(where("id")).collect()}),
    }
    frame = spark.read.format("binaryFile").load(images)
    preds = frame.select("path", sv.predict_udf("catdog")("content").alias("p"))
    preds = preds.select("path", "p.*")
    result["preds"] = preds.toPandas().to_dict("records")
    print("RESULT " + json.dumps(result), flush=True)
finally:
    spark.stop()
"""


def _client(url: str, server_pid: int, images: str, tmp_path: Path) -> dict:
    script = tmp_path / "client.py"
    script.write_text(CLIENT, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), url, str(server_pid), images],
                         capture_output=True, text=True, timeout=600)
    lines = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-2000:] + run.stderr[-4000:]
    return json.loads(lines[0][len("RESULT "):])


def test_count_and_sparkvision_udfs_run_in_the_servers_python_workers(
    connect_server: sparkconnect.ConnectServer, tmp_path: Path
) -> None:
    assert re.fullmatch(r"sc://127\.0\.0\.1:\d+", connect_server.url)
    folder = tmp_path / "photos"
    names = write_images(str(folder), [f"cat.{i}.jpg" for i in range(3)] + ["dog.1.png"])
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    result = _client(connect_server.url, connect_server.pid, str(folder / "*"), tmp_path)

    assert result["session"] == "pyspark.sql.connect.session"
    assert result["count"] == 1000
    where = [json.loads(w) for w in result["where"]]
    assert where and all(w[:3] == [sys.executable, sparkvision.__file__, True] for w in where)

    # predict_udf over Connect: every image has a row, equal to a local prediction
    preds = sorted(result["preds"], key=lambda r: r["path"])
    paths = sorted([str(folder / "broken.jpg"), *names])
    assert [p["path"].removeprefix("file:") for p in preds] == paths
    local = predict_frame([Path(p).read_bytes() for p in paths], resolve_model("catdog"),
                          batch_size=8)
    assert [p["label"] for p in preds] == list(local["label"])
    assert [p["error_kind"] for p in preds] == list(local["error_kind"])
    assert preds[0]["error_kind"] and all(p["error"] is None for p in preds[1:])
    np.testing.assert_allclose([p["score"] for p in preds[1:]], local["score"][1:], atol=1e-5)


def test_cli_up_status_down_leaves_nothing_behind(tmp_path: Path) -> None:
    """Its own server, through the command line that ``make connect-up`` runs."""
    cli = [sys.executable, sparkconnect.__file__]
    opts = ["--state-dir", str(tmp_path / "state")]
    try:
        up = subprocess.run([*cli, "up", *opts, "--port", "0", "--memory", "1g",
                             "--timeout", "240"], capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stderr
        url = up.stdout.strip().splitlines()[-1]
        assert re.fullmatch(r"sc://127\.0\.0\.1:\d+", url), up.stdout
        server = sparkconnect.read_connect(tmp_path / "state")
        assert server is not None and server.url == url and server.log.is_file()
        status = subprocess.run([*cli, "status", *opts], capture_output=True, text=True)
        assert status.returncode == 0 and f"running: {url}" in status.stdout, status

        family = sparkdaemons.family([server.pid])
        down = subprocess.run([*cli, "down", *opts], capture_output=True, text=True, timeout=120)
        assert down.returncode == 0 and f"stopped the server at {url}" in down.stderr, down
        assert {p for p in family if sparkdaemons.pid_alive(p)} == set()
        assert not list((tmp_path / "state").glob("*.pid"))

        down = subprocess.run([*cli, "down", *opts], capture_output=True, text=True, timeout=120)
        assert down.returncode == 0 and "nothing to stop" in down.stderr, down
        status = subprocess.run([*cli, "status", *opts], capture_output=True, text=True)
        assert status.returncode == 1 and "not running" in status.stdout, status
    finally:
        sparkconnect.stop_connect(tmp_path / "state")
