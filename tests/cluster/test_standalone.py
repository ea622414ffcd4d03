"""The standalone cluster tooling (tools/sparkcluster.py) against a real master + workers.

The Spark driver of these tests runs in a child Python process (DRIVER below): one process can
hold only one SparkContext, and other test modules may keep a local-mode session open in the
pytest process. The child holds its application open (and with it the executors and their
Python workers) until the test closes its stdin, so the test can look at the cluster meanwhile.
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import sparkcluster
import sparkdaemons
from sparkcluster import Cluster, ClusterError, read_cluster, start_cluster, stop_cluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

DRIVER = r"""
import json, os, sys, time

master, n_executors = sys.argv[1], int(sys.argv[2])
os.environ["PYSPARK_PYTHON"] = sys.executable   # executors must run this Python (pandas, pyarrow)
os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"       # driver's servers on 127.0.0.1 only

from pyspark.sql import SparkSession

spark = None
try:
    spark = (
        SparkSession.builder.master(master)
        .appName("sparkvision-cluster-test")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.executor.memory", "1g")
        .config("spark.executor.cores", "1")
        .config("spark.cores.max", str(n_executors))
        .config("spark.ui.enabled", "false")
        .config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
        .config("spark.scheduler.maxRegisteredResourcesWaitingTime", "240s")
        .getOrCreate()
    )
    sc = spark.sparkContext
    jsc = sc._jsc.sc()

    def executor_ids():
        return sorted(i for i in jsc.getExecutorIds().mkString(",").split(",") if i)

    deadline = time.monotonic() + 240  # generous: 2 cores may be shared with other JVMs
    while len(executor_ids()) < n_executors:
        if time.monotonic() > deadline:
            raise SystemExit(f"expected {n_executors} executors, have {executor_ids()} after 240 s")
        time.sleep(0.25)

    def probe(batches):
        import os, sys, time
        import pandas as pd
        from pyspark import TaskContext

        partition = TaskContext.get().partitionId()
        for batch in batches:
            time.sleep(0.5)  # keep each executor's single core busy, so both get tasks
            yield pd.DataFrame({
                "id": batch["id"],
                "partition": partition,
                "pid": os.getpid(),
                "cwd": os.getcwd(),  # <worker work dir>/<app id>/<executor id>
                "log_url": os.environ.get("SPARK_LOG_URL_STDERR", ""),
                "python": sys.executable,
            })

    schema = "id long, partition int, pid long, cwd string, log_url string, python string"
    rows = spark.range(0, 40, numPartitions=4).mapInPandas(probe, schema).collect()
    result = {
        "app_id": sc.applicationId,
        "executor_ids": executor_ids(),
        "block_managers": jsc.getExecutorMemoryStatus().size(),  # executors + the driver
        "driver_pid": os.getpid(),
        "rows": [r.asDict() for r in rows],
    }
    print("RESULT " + json.dumps(result), flush=True)
    sys.stdin.read()  # hold the application until the test closes our stdin
finally:
    if spark is not None:
        spark.stop()
"""


class Driver:
    """The DRIVER script in a child process; ``result()`` waits for its RESULT line."""

    def __init__(self, master_url: str, executors: int, tmp: Path) -> None:
        script = tmp / "driver.py"
        script.write_text(DRIVER, encoding="utf-8")
        self.log = tmp / "driver.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(script), master_url, str(executors)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                text=True,
            )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "(no driver log)"
        return "\n".join(lines[-n:])

    def result(self, timeout: float = 480) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"driver gave no result within {timeout:g} s\n{self.log_tail()}")
            if line is None:
                pytest.fail(
                    f"driver exited with {self.proc.wait()} before its result\n{self.log_tail()}"
                )
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT ") :])

    def finish(self, timeout: float = 120) -> int | None:
        """Let the driver stop its SparkSession and exit; kill it if it hangs."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()


def _json(url: str) -> Any:
    return sparkdaemons.http_json(url + "/json/")


def _alive(pids: set[int]) -> set[int]:
    return {p for p in pids if sparkdaemons.pid_alive(p)}


def _check_rows(result: dict[str, Any], state_dir: Path, executors: int) -> dict[str, set[str]]:
    """Check the rows came from Python workers of the cluster's executors.

    Returns executor id -> the worker work dirs (work-N) its rows came from.
    """
    rows = result["rows"]
    assert sorted(r["id"] for r in rows) == list(range(40))
    assert {r["python"] for r in rows} == {sys.executable}
    by_executor: dict[str, set[str]] = {}
    for r in rows:
        m = re.search(r"[?&]executorId=([^&]+)", r["log_url"])
        assert m, f"no executor id in the executor's log URL {r['log_url']!r}"
        cwd = Path(r["cwd"])
        # the executor runs in <state_dir>/work-N/<app id>/<executor id>
        assert cwd.name == m.group(1), r
        assert cwd.parent.name == result["app_id"], r
        assert cwd.parent.parent.parent == state_dir, r
        by_executor.setdefault(m.group(1), set()).add(cwd.parent.parent.name)
    assert sorted(by_executor) == sorted(result["executor_ids"])
    assert len(by_executor) == executors
    return by_executor


# --------------------------------------------------------------------------------------------


def test_master_reports_all_workers_alive(standalone_cluster: Cluster) -> None:
    cluster = standalone_cluster
    info = _json(cluster.webui_url)
    assert info["status"] == "ALIVE"
    assert info["url"] == cluster.master_url
    assert re.fullmatch(r"spark://127\.0\.0\.1:\d+", cluster.master_url)
    alive = [w for w in info["workers"] if w["state"] == "ALIVE"]
    assert len(alive) == 2, info["workers"]
    assert all(w["cores"] == 1 and w["memory"] == 2048 for w in alive), alive
    assert all(w["host"] == "127.0.0.1" for w in alive), alive
    assert len(cluster.pids) == 3 and all(sparkdaemons.pid_alive(p) for p in cluster.pids)
    assert read_cluster(cluster.state_dir) == cluster
    state = json.loads((cluster.state_dir / "cluster.json").read_text(encoding="utf-8"))
    assert (state["master_url"], state["workers"]) == (cluster.master_url, 2)
    # spark-daemon.sh's pid files and logs are in the state dir
    daemons = [(sparkcluster.MASTER, 1), (sparkcluster.WORKER, 1), (sparkcluster.WORKER, 2)]
    pid_files = [sparkdaemons.pid_file(cluster.state_dir, *d) for d in daemons]
    assert [int(f.read_text()) for f in pid_files] == list(cluster.pids)
    for cls, instance in daemons:
        log = sparkdaemons.log_file(cluster.state_dir, cls, instance)
        assert log.parent == cluster.state_dir and cls in log.read_text(encoding="utf-8")


def test_second_start_on_same_state_dir_is_refused(standalone_cluster: Cluster) -> None:
    with pytest.raises(ClusterError, match="already running"):
        start_cluster(state_dir=standalone_cluster.state_dir, timeout=5)
    assert read_cluster(standalone_cluster.state_dir) == standalone_cluster


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "at least 1 worker with at least 1 core, got workers=0"),
        ({"cores_per_worker": 0}, "at least 1 worker .*, got.*cores_per_worker=0"),
        ({"memory_per_worker": "lots"}, "memory_per_worker like '2g' or '1536m', got 'lots'"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ClusterError, match=message):
        start_cluster(state_dir=tmp_path, **kwargs)
    assert not (tmp_path / "cluster.json").exists()


def test_taken_port_and_missing_java_are_reported(tmp_path: Path, monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ClusterError, match=f"port {port} on 127.0.0.1 to be free, but it is"):
            start_cluster(state_dir=tmp_path / "a", port=port)

        # a port taken after the check: the master exits, and the error shows its log
        monkeypatch.setattr(sparkcluster, "free_port", lambda port=0: taken.getsockname()[1])
        with pytest.raises(ClusterError, match="(?s)Master 1: it exited during the start. A port "
                           "it needs is taken.*Read its log .*Master-1-.*Address already in use"):
            start_cluster(state_dir=tmp_path / "b", workers=1, timeout=180)
    assert not list((tmp_path / "b").glob("*.pid")) and read_cluster(tmp_path / "b") is None

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ClusterError, match="needs a Java runtime"):
        start_cluster(state_dir=tmp_path / "c")


def test_job_runs_in_python_workers_on_both_executors(
    standalone_cluster: Cluster, tmp_path: Path
) -> None:
    cluster = standalone_cluster
    driver = Driver(cluster.master_url, executors=2, tmp=tmp_path)
    try:
        result = driver.result()
        assert len(result["executor_ids"]) == 2
        assert result["block_managers"] == 3  # 2 executors + the driver
        by_executor = _check_rows(result, cluster.state_dir, executors=2)
        # one executor on each worker
        assert sorted(d for dirs in by_executor.values() for d in dirs) == ["work-1", "work-2"]

        # the Python workers that made the rows are processes under the cluster's workers,
        # not under the driver
        family = sparkdaemons.family(list(cluster.pids))
        assert {r["pid"] for r in result["rows"]} <= family
        assert result["driver_pid"] not in family

        # the cluster's own view: the app is running with one executor on each worker
        info = _json(cluster.webui_url)
        assert [a["id"] for a in info["activeapps"]] == [result["app_id"]]
        assert len(info["workers"]) == 2
        for entry in info["workers"]:
            worker = _json(entry["webuiaddress"])
            assert [(e["appid"], e["memory"]) for e in worker["executors"]] == [
                (result["app_id"], 1024)
            ], worker["executors"]
    finally:
        rc = driver.finish()
    assert rc == 0, driver.log_tail()


def test_stop_leaves_no_process_behind_and_is_idempotent(tmp_path: Path) -> None:
    """Its own 1-worker cluster, started with the CLI and stopped while an app still runs."""
    state_dir = tmp_path / "state"
    cli = [sys.executable, sparkcluster.__file__]
    opts = ["--state-dir", str(state_dir)]
    driver = None
    try:
        up = subprocess.run(
            [*cli, "up", *opts, "--workers", "1", "--memory", "1536m", "--timeout", "180"],
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert up.returncode == 0, up.stderr
        url = up.stdout.strip().splitlines()[-1]
        assert re.fullmatch(r"spark://127\.0\.0\.1:\d+", url), up.stdout
        assert "--master " + url in up.stdout and " down" in up.stdout  # the hints
        cluster = read_cluster(state_dir)
        assert cluster is not None and cluster.master_url == url
        status = subprocess.run([*cli, "status", *opts], capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and "1/1 workers ALIVE" in status.stdout, status

        driver = Driver(url, executors=1, tmp=tmp_path)
        result = driver.result()
        _check_rows(result, cluster.state_dir, executors=1)

        # master, worker, executor JVM, PySpark daemon (own process group) and its workers
        family = sparkdaemons.family(list(cluster.pids))
        assert {r["pid"] for r in result["rows"]} <= family
        assert len(family) >= 4, family

        stop_cluster(state_dir)
        assert _alive(family) == set()
        assert not (state_dir / "cluster.json").exists()
        assert not list(state_dir.glob("*.pid"))  # spark-daemon.sh's pid files
        assert read_cluster(state_dir) is None

        stop_cluster(state_dir)  # idempotent
        down = subprocess.run([*cli, "down", *opts], capture_output=True, text=True, timeout=60)
        assert down.returncode == 0, down.stderr
        status = subprocess.run([*cli, "status", *opts], capture_output=True, text=True, timeout=60)
        assert status.returncode == 1 and "not running" in status.stdout, status
    finally:
        if driver is not None:
            driver.finish(timeout=120)  # its master is gone: only check that it goes away
        stop_cluster(state_dir)
