"""A throw-away Spark standalone cluster on this machine: 1 master + N workers on 127.0.0.1.

Test and demo tooling, outside the sparkvision package. The daemons are started and stopped with
the scripts of the installed pyspark wheel (``sbin/spark-daemon.sh``, which runs
``bin/spark-class``), so there is nothing else to download::

    .venv/bin/python tools/sparkcluster.py up      # hints, then the spark:// URL as last line
    .venv/bin/python tools/sparkcluster.py status
    .venv/bin/python tools/sparkcluster.py down    # idempotent

or from Python, with ``tools/`` on sys.path::

    cluster = start_cluster(workers=2, state_dir="/tmp/c")
    ...  SparkSession.builder.master(cluster.master_url) ...
    stop_cluster("/tmp/c")

Everything lives in the state dir: spark-daemon.sh's pid files and logs
(``spark-sparkvision-<class>-<n>-<host>.out``, older runs rotated to ``.out.1`` ...), the
workers' work dirs ``work-<n>``, and ``cluster.json`` with the URLs. Every server binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkdaemons import (
    HOST,
    ClusterError,
    check_java,
    daemon_cli,
    daemon_env,
    daemon_pid,
    failure,
    free_port,
    http_json,
    instances,
    read_json,
    sbin,
    start_or_reuse,
    state_path,
    stop_daemons,
    stop_hint,
    wait_for,
    write_json,
)

__all__ = ["Cluster", "ClusterError", "read_cluster", "start_cluster", "stop_cluster"]

MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"
STATE_FILE = "cluster.json"
_MEMORY_RE = re.compile(r"^[1-9][0-9]*[kKmMgGtT]?$")


@dataclass(frozen=True)
class Cluster:
    """A running standalone cluster (as started by :func:`start_cluster`)."""

    master_url: str
    webui_url: str
    state_dir: Path
    pids: tuple[int, ...]  # master first, then workers 1..N


def _master_info(webui: str, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    try:
        info = http_json(webui + "/json/")
    except (OSError, ValueError):  # not listening yet, or not JSON yet
        return None
    return info if ready(info) else None


def alive_workers(info: dict[str, Any]) -> int:
    return sum(1 for w in info.get("workers", []) if w.get("state") == "ALIVE")


def _start_master(env: dict[str, str], state_dir: Path, port: int,
                  deadline: float) -> tuple[str, str]:
    """Start the master; return its spark:// URL and web UI URL once it is ALIVE."""
    ui_port = free_port()
    sbin("spark-daemon.sh", "start", MASTER, "1", "--host", HOST, "--port", str(port),
         "--webui-port", str(ui_port), env=env, cwd=state_dir)
    webui = f"http://{HOST}:{ui_port}"
    info = wait_for(lambda: _master_info(webui, lambda i: i.get("status") == "ALIVE"),
                    deadline, state_dir, [(MASTER, 1)])
    if info is None:
        raise ClusterError(failure(state_dir, MASTER, 1, f"its UI {webui} did not answer ALIVE "
                                   "within the timeout (a busy machine may need a larger one)"))
    return str(info["url"]), webui


def _start_workers(env: dict[str, str], state_dir: Path, urls: tuple[str, str], n: int,
                   cores: int, memory: str, deadline: float) -> None:
    """Start *n* workers at once; return when all are ALIVE at the master."""
    master_url, webui = urls

    def start(i: int) -> str:
        return sbin("spark-daemon.sh", "start", WORKER, str(i), master_url, "--cores", str(cores),
                    "--memory", memory, "--host", HOST, "--webui-port", "0",
                    "--work-dir", str(state_dir / f"work-{i}"), env=env, cwd=state_dir)

    with ThreadPoolExecutor(n) as pool:
        list(pool.map(start, range(1, n + 1)))
    workers = [(WORKER, i) for i in range(1, n + 1)]
    info = wait_for(lambda: _master_info(webui, lambda i: alive_workers(i) >= n),
                    deadline, state_dir, workers)
    if info is None:
        seen = _master_info(webui, lambda i: True) or {}
        logs = "\n".join(failure(state_dir, *w, "log", lines=5) for w in workers)
        raise ClusterError(
            f"Expected {n} worker(s) to register with {master_url} as ALIVE in time, but "
            f"{alive_workers(seen)} did. Memory or CPU may be short; read the worker logs:\n{logs}"
        )


def start_cluster(*, workers: int = 2, cores_per_worker: int = 1, memory_per_worker: str = "2g",
                  state_dir: Path | str = ".cluster", port: int = 0,
                  timeout: float = 90) -> Cluster:
    """Start a standalone master and *workers* workers; return once all workers are ALIVE.

    *port* is the master's (0: a free one). Raises ClusterError if a cluster of *state_dir*
    still runs, if Java or Spark is missing, if the port is taken, or if the daemons are not up
    within *timeout* seconds (with the log to read). Nothing is left running when it raises.
    """
    if workers < 1 or cores_per_worker < 1:
        raise ClusterError(f"Expected at least 1 worker with at least 1 core, got workers="
                           f"{workers}, cores_per_worker={cores_per_worker}.")
    if not _MEMORY_RE.match(str(memory_per_worker)):
        raise ClusterError(f"Expected memory_per_worker like '2g' or '1536m', got "
                           f"{memory_per_worker!r}.")
    state_dir = state_path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    running = read_cluster(state_dir)
    if running is not None:
        raise ClusterError(f"A cluster of {state_dir} is already running at "
                           f"{running.master_url}. Use it, or stop it first: make cluster-down")
    stop_cluster(state_dir)  # what a crashed start may have left
    check_java()
    # maxRetries=0: a taken port fails the start instead of Spark moving to port+1 unseen;
    # no REST submission server (fixed port 6066), so that two clusters can run side by side.
    env = daemon_env(state_dir, "-Dspark.port.maxRetries=0 -Dspark.master.rest.enabled=false")
    deadline = time.monotonic() + timeout
    try:
        urls = _start_master(env, state_dir, free_port(port), deadline)
        _start_workers(env, state_dir, urls, workers, cores_per_worker, memory_per_worker,
                       deadline)
        write_json(state_dir / STATE_FILE, {"master_url": urls[0], "webui_url": urls[1],
                                            "workers": workers, "python": sys.executable})
    except BaseException:
        stop_cluster(state_dir)
        raise
    cluster = read_cluster(state_dir)
    if cluster is None:
        raise ClusterError(f"The cluster of {state_dir} stopped right after its start; read "
                           f"the logs in {state_dir}.")
    return cluster


def read_cluster(state_dir: Path | str = ".cluster") -> Cluster | None:
    """The cluster recorded in *state_dir* if its master and all its workers run, else None."""
    state_dir = state_path(state_dir)
    state = read_json(state_dir / STATE_FILE)
    if state is None:
        return None
    daemons = [(MASTER, 1)] + [(WORKER, i) for i in range(1, int(state["workers"]) + 1)]
    pids = [daemon_pid(state_dir, cls, i) for cls, i in daemons]
    if any(pid is None for pid in pids):
        return None
    return Cluster(state["master_url"], state["webui_url"], state_dir,
                   tuple(p for p in pids if p is not None))


def stop_cluster(state_dir: Path | str = ".cluster") -> None:
    """Stop the cluster of *state_dir* (workers, their executors and Python workers, master).

    Idempotent: with nothing running it only removes stale pid files and cluster.json.
    """
    state_dir = state_path(state_dir)
    if not state_dir.is_dir():
        return
    daemons = [(WORKER, i) for i in instances(state_dir, WORKER)]
    stop_daemons(state_dir, daemons + [(MASTER, i) for i in instances(state_dir, MASTER)])
    (state_dir / STATE_FILE).unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# command line


def _status(state_dir: Path) -> tuple[int, str]:
    cluster = read_cluster(state_dir)
    if cluster is None:
        return 1, f"not running (no live cluster recorded in {state_dir})"
    try:
        info = http_json(cluster.webui_url + "/json/")
    except (OSError, ValueError) as exc:
        return 0, f"daemons run, but the master UI {cluster.webui_url} does not answer: {exc}"
    return 0, (f"running: {cluster.master_url} (master {info.get('status')}, "
               f"{alive_workers(info)}/{len(cluster.pids) - 1} workers ALIVE, "
               f"{len(info.get('activeapps', []))} running app(s); UI {cluster.webui_url})")


def _up(args: argparse.Namespace, state_dir: Path) -> int:
    cluster = start_or_reuse(
        read_cluster(state_dir),
        lambda: start_cluster(workers=args.workers, cores_per_worker=args.cores,
                              memory_per_worker=args.memory, state_dir=state_dir,
                              port=args.port, timeout=args.timeout),
        state_dir=state_dir, what="cluster",
        starting=f"starting 1 master + {args.workers} worker(s) on {HOST} (logs in "
                 f"{state_dir}) ...")
    print(f"Spark master UI: {cluster.webui_url}")
    print(f"Use it:  sparkvision classify DIR --master {cluster.master_url}")
    print(stop_hint("cluster-down", __file__, state_dir))
    print(cluster.master_url)
    return 0


def _down(args: argparse.Namespace, state_dir: Path) -> int:
    was = read_cluster(state_dir)
    stop_cluster(state_dir)
    print(f"stopped the cluster at {was.master_url}" if was else
          f"not running (no live cluster in {state_dir}); nothing to stop", file=sys.stderr)
    return 0


def _print_status(args: argparse.Namespace, state_dir: Path) -> int:
    rc, line = _status(state_dir)
    print(line)
    return rc


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=1, help="cores per worker (default: 1)")
    parser.add_argument("--memory", default="2g", help="memory per worker (default: 2g)")
    parser.add_argument("--port", type=int, default=0, help="master port (default: a free one)")


def main(argv: list[str] | None = None) -> int:
    return daemon_cli(
        argv, prog="tools/sparkcluster.py",
        description=f"Start/stop a local Spark standalone cluster: 1 master + N workers on {HOST}.",
        state_dir=".cluster", state_help="pid files, logs, work dirs and cluster.json",
        timeout=90, add_options=_options,
        commands={"up": _up, "down": _down, "status": _print_status})


if __name__ == "__main__":
    sys.exit(main())
