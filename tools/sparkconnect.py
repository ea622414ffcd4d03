"""A local Spark Connect server on 127.0.0.1, for trying and testing ``sc://`` clients.

Test and demo tooling, outside the sparkvision package. The server is started by the pyspark
wheel's own ``sbin/start-connect-server.sh`` (spark-submit of SparkConnectServer; its jar,
spark-connect_2.13, ships in pyspark 4's jars/, so no ``--packages`` download) and stopped by
``sbin/spark-daemon.sh stop``, which is what ``sbin/stop-connect-server.sh`` runs::

    .venv/bin/python tools/sparkconnect.py up      # hints, then the sc:// URL as last line
    .venv/bin/python tools/sparkconnect.py status
    .venv/bin/python tools/sparkconnect.py down    # idempotent

or from Python, with ``tools/`` on sys.path::

    server = start_connect(port=0, state_dir="/tmp/s")      # port 0: a free one
    ...  SparkSession.builder.remote(server.url).getOrCreate() ...
    stop_connect("/tmp/s")

The server runs its jobs in local mode by default (``--master``), with this Python
(``sys.executable``) as PYSPARK_PYTHON for its Python workers, and its working directory is the
state dir: relative paths sent by a client resolve there, so send absolute ones. Its pid file,
log (``spark-sparkvision-org.apache.spark.sql.connect.service.SparkConnectServer-1-<host>.out``),
``connect.json``, spark-warehouse/ and metastore_db/ all stay in the state dir.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sparkdaemons import (
    HOST,
    ClusterError,
    check_java,
    daemon_cli,
    daemon_env,
    daemon_pid,
    failure,
    free_port,
    log_file,
    read_json,
    sbin,
    start_or_reuse,
    state_path,
    stop_daemons,
    stop_hint,
    wait_for,
    write_json,
)

__all__ = ["ConnectServer", "ClusterError", "read_connect", "start_connect", "stop_connect"]

CONNECT = "org.apache.spark.sql.connect.service.SparkConnectServer"
DEFAULT_PORT = 15002  # Spark Connect's own default port
STATE_FILE = "connect.json"


@dataclass(frozen=True)
class ConnectServer:
    """A running Spark Connect server (as started by :func:`start_connect`)."""

    url: str  # sc://127.0.0.1:PORT
    state_dir: Path
    pid: int
    log: Path


def _listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def _submit_args(port: int, master: str, memory: str, conf: dict[str, str]) -> list[str]:
    settings = {
        "spark.connect.grpc.binding.address": HOST,
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.port.maxRetries": "0",  # a taken port fails instead of moving on
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.pyspark.python": sys.executable,
        **conf,
    }
    args = ["--master", master, "--driver-memory", memory]
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    return args


def start_connect(*, port: int = DEFAULT_PORT, master: str = "local[2]", memory: str = "2g",
                  state_dir: Path | str = ".connect", timeout: float = 120,
                  conf: dict[str, str] | None = None) -> ConnectServer:
    """Start a Spark Connect server on 127.0.0.1:*port* (0: a free port); return once it listens.

    *master* is where it runs the jobs (``local[N]``, or a ``spark://`` URL), *memory* its JVM
    heap (the driver's, and in local mode the executors'), *conf* extra Spark settings.
    Raises ClusterError if a server of *state_dir* still runs, if Java is missing, if the port
    is taken, or if the server does not listen within *timeout* seconds (with the log to read).
    Nothing is left running when it raises.
    """
    state_dir = state_path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    running = read_connect(state_dir)
    if running is not None:
        raise ClusterError(f"A Spark Connect server of {state_dir} is already running at "
                           f"{running.url}. Use it, or stop it first: make connect-down")
    stop_connect(state_dir)  # what a crashed start may have left
    check_java()
    port = free_port(port)
    deadline = time.monotonic() + timeout
    try:
        sbin("start-connect-server.sh", *_submit_args(port, master, memory, conf or {}),
             env=daemon_env(state_dir), cwd=state_dir)
        if not wait_for(lambda: _listening(port), deadline, state_dir, [(CONNECT, 1)]):
            raise ClusterError(failure(state_dir, CONNECT, 1, f"it did not listen on {HOST}:"
                                       f"{port} within {timeout:g}s"))
        write_json(state_dir / STATE_FILE, {"url": f"sc://{HOST}:{port}", "master": master,
                                            "python": sys.executable})
    except BaseException:
        stop_connect(state_dir)
        raise
    server = read_connect(state_dir)
    if server is None:
        raise ClusterError(failure(state_dir, CONNECT, 1, "it stopped right after its start"))
    return server


def read_connect(state_dir: Path | str = ".connect") -> ConnectServer | None:
    """The server recorded in *state_dir* if it still runs, else None."""
    state_dir = state_path(state_dir)
    state = read_json(state_dir / STATE_FILE)
    pid = daemon_pid(state_dir, CONNECT, 1)
    if state is None or pid is None:
        return None
    return ConnectServer(str(state["url"]), state_dir, pid, log_file(state_dir, CONNECT, 1))


def stop_connect(state_dir: Path | str = ".connect") -> None:
    """Stop the server of *state_dir* and its Python workers. Idempotent."""
    state_dir = state_path(state_dir)
    if state_dir.is_dir():
        stop_daemons(state_dir, [(CONNECT, 1)])
        (state_dir / STATE_FILE).unlink(missing_ok=True)


def _up(args: argparse.Namespace, state_dir: Path) -> int:
    server = start_or_reuse(
        read_connect(state_dir),
        lambda: start_connect(port=args.port, master=args.master, memory=args.memory,
                              state_dir=state_dir, timeout=args.timeout),
        state_dir=state_dir, what="server",
        starting=f"starting a Spark Connect server on {HOST} ({args.master}; log in "
                 f"{state_dir}) ...")
    print(f"Log: {server.log}")
    print(f"Use it:  SparkSession.builder.remote('{server.url}').getOrCreate()")
    print(stop_hint("connect-down", __file__, state_dir))
    print(server.url)
    return 0


def _down(args: argparse.Namespace, state_dir: Path) -> int:
    server = read_connect(state_dir)
    stop_connect(state_dir)
    print(f"stopped the server at {server.url}" if server else
          f"not running (no live server in {state_dir}); nothing to stop", file=sys.stderr)
    return 0


def _status(args: argparse.Namespace, state_dir: Path) -> int:
    server = read_connect(state_dir)
    print(f"running: {server.url} (pid {server.pid}; log {server.log})" if server else
          f"not running (no live server recorded in {state_dir})")
    return 0 if server else 1


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"gRPC port (default: {DEFAULT_PORT}; 0: a free one)")
    parser.add_argument("--master", default="local[2]", help="where jobs run (default: local[2])")
    parser.add_argument("--memory", default="2g", help="server JVM heap (default: 2g)")


def main(argv: list[str] | None = None) -> int:
    return daemon_cli(
        argv, prog="tools/sparkconnect.py",
        description=f"Start/stop a local Spark Connect server on {HOST}.",
        state_dir=".connect", state_help="pid file, log, connect.json, warehouse",
        timeout=120, add_options=_options,
        commands={"up": _up, "down": _down, "status": _status})


if __name__ == "__main__":
    sys.exit(main())
