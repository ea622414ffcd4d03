"""A throw-away Spark standalone cluster on this machine: 1 master + N workers on 127.0.0.1.

This is the product's reference topology (1 master + 2 workers) for trying ``--master spark://...``
and for the cluster tests. It runs the Master and Worker daemons of the *installed* PySpark
(``bin/spark-class`` under its SPARK_HOME), so there is nothing else to download::

    python -m sparkvision.standalone up        # prints hints, then the spark:// URL as last line
    python -m sparkvision.standalone status
    python -m sparkvision.standalone down      # idempotent

or from Python::

    cluster = start_cluster(workers=2, state_dir="/tmp/c")
    ...  SparkSession.builder.master(cluster.master_url) ...
    stop_cluster("/tmp/c")

Every daemon runs in its own process group with its stdout/stderr in ``<state_dir>/*.log``;
``<state_dir>/cluster.json`` records the URLs and pids so that ``down`` (from another process)
can stop it. All servers bind 127.0.0.1 (``SPARK_LOCAL_IP`` is set for the daemons).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkvision.errors import SparkVisionError

__all__ = [
    "Cluster",
    "ClusterError",
    "read_cluster",
    "start_cluster",
    "stop_cluster",
]

STATE_FILE = "cluster.json"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
_OURS_MARKERS = ("org.apache.spark.", "pyspark.daemon", "pyspark.worker")
_MEMORY_RE = re.compile(r"^[1-9][0-9]*[kKmMgGtT]?$")
_STOP_GRACE_S = 15.0
_START_ATTEMPTS = 3  # a picked port can be taken by someone else before the daemon binds it


class ClusterError(SparkVisionError, RuntimeError):
    """The standalone cluster could not be started, found or stopped."""


@dataclass(frozen=True)
class Cluster:
    """A running standalone cluster (as started by :func:`start_cluster`)."""

    master_url: str
    webui_url: str
    state_dir: Path
    pids: tuple[int, ...]


# --------------------------------------------------------------------------------------------
# helpers


def _spark_home() -> Path:
    """SPARK_HOME of the installed PySpark (the pip package ships bin/ and jars/)."""
    candidates: list[Path] = []
    try:
        from pyspark.find_spark_home import _find_spark_home

        candidates.append(Path(_find_spark_home()))
    except Exception:  # noqa: BLE001 - fall back to the package directory below
        pass
    try:
        import pyspark

        candidates.append(Path(pyspark.__file__).resolve().parent)
    except ImportError as exc:
        raise ClusterError(
            "The Spark standalone cluster needs PySpark, but 'import pyspark' failed "
            f"({exc}). Install it into this Python ({sys.executable}): pip install pyspark"
        ) from exc
    for home in candidates:
        if (home / "bin" / "spark-class").is_file() and (home / "jars").is_dir():
            return home
    raise ClusterError(
        "Expected a Spark installation with bin/spark-class and jars/ (the pip 'pyspark' "
        f"package ships one), but found none in: {', '.join(map(str, candidates))}. "
        "Reinstall pyspark, or unset SPARK_HOME if it points to an incomplete installation."
    )


def _check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return
    if shutil.which("java"):
        return
    raise ClusterError(
        "Spark needs a Java runtime (17 or newer), but no 'java' was found on PATH and "
        f"JAVA_HOME is {java_home!r}. Install a JDK (e.g. apt-get install openjdk-17-jre-headless) "
        "or set JAVA_HOME."
    )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _free_ports(host: str, n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        p = _free_port(host)
        if p not in ports:
            ports.append(p)
    return ports


def _http_json(url: str, timeout: float = 2.0) -> Any:
    # No proxies: the cluster is local, and http_proxy in the environment must not reroute us.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is dead for our purposes (our own children are reaped by Popen.poll)
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _group_alive(pgid: int) -> bool:
    """Whether a process group has a live (non-zombie) member."""
    table = _proc_table()
    if table:
        return any(g == pgid and st != "Z" for _, g, st in table.values())
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str | None:
    """The command line of *pid*, or None where /proc cannot tell (non-Linux, gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def _looks_ours(pid: int) -> bool:
    cmd = _cmdline(pid)
    if cmd is None:  # cannot check (no /proc): trust the state file
        return not Path("/proc/self").exists()
    return any(m in cmd for m in _OURS_MARKERS)


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, pgid, state) for every process, from /proc (empty where there is no /proc)."""
    table: dict[int, tuple[int, int, str]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            table[int(name)] = (int(fields[1]), int(fields[2]), fields[0])
        except (OSError, IndexError, ValueError):
            continue
    return table


def _family(pids: list[int], pgids: list[int]) -> set[int]:
    """The given pids, every member of the given process groups, and all their descendants.

    PySpark's Python daemon moves itself into a new process group, so killing the daemons'
    groups alone could leave it behind; it is found here as a descendant of its executor.
    """
    table = _proc_table()
    found = {p for p in pids if p in table}
    found |= {p for p, (_, g, _) in table.items() if g in pgids}
    children: dict[int, list[int]] = {}
    for p, (pp, _, _) in table.items():
        children.setdefault(pp, []).append(p)
    todo = list(found)
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"   ({path}: no log)"
    return "\n".join(f"   | {line}" for line in text[-lines:]) or f"   ({path}: empty)"


def _logs_tail(state_dir: Path, names: list[str]) -> str:
    return "\n".join(f"-- {state_dir / n} (last lines):\n{_tail(state_dir / n)}" for n in names)


# --------------------------------------------------------------------------------------------
# state file


def _state_path(state_dir: Path | str) -> Path:
    return Path(state_dir).expanduser().resolve() / STATE_FILE


def _read_state(state_dir: Path | str) -> dict[str, Any] | None:
    path = _state_path(state_dir)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ClusterError(
            f"Expected {path} to be the JSON state of a standalone cluster, but it could not be "
            f"read ({exc}). Stop any leftover Spark daemons by hand and delete the file."
        ) from exc
    if not isinstance(state, dict) or "processes" not in state:
        raise ClusterError(
            f"Expected {path} to hold a 'processes' list, found {str(state)[:200]!r}. "
            "Stop any leftover Spark daemons by hand and delete the file."
        )
    return state


def _cluster_from_state(state: dict[str, Any], state_dir: Path) -> Cluster:
    return Cluster(
        master_url=state["master_url"],
        webui_url=state["webui_url"],
        state_dir=state_dir,
        pids=tuple(int(p["pid"]) for p in state["processes"]),
    )


def _state_running(state: dict[str, Any]) -> bool:
    return all(_pid_alive(int(p["pid"])) and _looks_ours(int(p["pid"])) for p in state["processes"])


def read_cluster(state_dir: Path | str = ".cluster") -> Cluster | None:
    """The cluster recorded in *state_dir* if all its daemons still run, else None."""
    state = _read_state(state_dir)
    if state is None or not _state_running(state):
        return None
    return _cluster_from_state(state, Path(state_dir).expanduser().resolve())


# --------------------------------------------------------------------------------------------
# start


def _daemon_env(spark_home: Path, host: str) -> dict[str, str]:
    env = dict(os.environ)
    env["SPARK_HOME"] = str(spark_home)
    env["SPARK_LOCAL_IP"] = host  # also makes the web UIs bind to host rather than 0.0.0.0
    env["PYSPARK_PYTHON"] = sys.executable
    env.pop("SPARK_LOCAL_HOSTNAME", None)
    env.pop("SPARK_PUBLIC_DNS", None)
    # maxRetries=0: a port that is taken must fail the start (start_cluster retries with fresh
    # ports) instead of Spark silently moving to port+1, which would make the recorded URLs wrong.
    # rest.enabled=false: the master's REST submission server (fixed port 6066) is not needed,
    # and without it two clusters (e.g. a developer's and the tests') can run side by side.
    opts = env.get("SPARK_DAEMON_JAVA_OPTS", "")
    env["SPARK_DAEMON_JAVA_OPTS"] = (
        opts + " -Dspark.port.maxRetries=0 -Dspark.master.rest.enabled=false"
    ).strip()
    return env


# Daemons started by this process, kept so that they are reaped (no zombies, no ResourceWarning)
# when stop_cluster runs in the same process that started them.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _reap() -> None:
    for pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            del _CHILDREN[pid]


def _spawn(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # own session => own process group, no terminal signals
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    return proc


class _StartFailed(Exception):
    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def _wait(
    procs: dict[str, subprocess.Popen[bytes]],
    webui: str,
    deadline: float,
    ready: Any,
    what: str,
) -> dict[str, Any]:
    """Poll the master's /json/ until ready(info) holds; fail fast if a daemon exits."""
    last: str = "no answer yet"
    while True:
        for name, proc in procs.items():
            rc = proc.poll()
            if rc is not None:
                raise _StartFailed(f"the {name} process exited with status {rc} while {what}", True)
        try:
            info = _http_json(webui + "/json/")
            if ready(info):
                return info
            last = (
                f"master status {info.get('status')!r}, workers "
                f"{[w.get('state') for w in info.get('workers', [])]}"
            )
        except (OSError, ValueError) as exc:  # not listening yet, or not JSON yet
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            raise _StartFailed(f"timed out while {what}; last seen: {last}", False)
        time.sleep(0.25)


def _kill_procs(procs: list[subprocess.Popen[bytes]]) -> None:
    pids = [p.pid for p in procs]
    _terminate(pids, pids, grace=_STOP_GRACE_S)
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    _reap()


def _start_once(
    *,
    spark_home: Path,
    state_dir: Path,
    workers: int,
    cores_per_worker: int,
    memory_per_worker: str,
    host: str,
    deadline: float,
    attempt: int,
) -> dict[str, Any]:
    env = _daemon_env(spark_home, host)
    spark_class = str(spark_home / "bin" / "spark-class")
    port, webui_port, *worker_ui_ports = _free_ports(host, 2 + workers)
    logs = ["master.log"] + [f"worker-{i}.log" for i in range(1, workers + 1)]
    for name in logs:  # fresh logs per attempt, so the tail shown on failure is this attempt's
        (state_dir / name).write_text(f"# attempt {attempt}\n", encoding="utf-8")

    procs: dict[str, subprocess.Popen[bytes]] = {}
    webui = f"http://{host}:{webui_port}"
    try:
        procs["master"] = _spawn(
            [
                spark_class,
                MASTER_CLASS,
                "--host",
                host,
                "--port",
                str(port),
                "--webui-port",
                str(webui_port),
            ],
            env,
            state_dir / "master.log",
            state_dir,
        )
        # Workers are started only once the master answers: a worker that cannot reach the master
        # backs off for several seconds before its next registration attempt.
        info = _wait(
            {"master": procs["master"]},
            webui,
            deadline,
            lambda i: i.get("status") == "ALIVE",
            "waiting for the master to come up",
        )
        master_url = str(info.get("url") or f"spark://{host}:{port}")
        for i, ui_port in enumerate(worker_ui_ports, start=1):
            work_dir = state_dir / f"work-{i}"
            work_dir.mkdir(parents=True, exist_ok=True)
            procs[f"worker-{i}"] = _spawn(
                [
                    spark_class,
                    WORKER_CLASS,
                    master_url,
                    "--cores",
                    str(cores_per_worker),
                    "--memory",
                    memory_per_worker,
                    "--host",
                    host,
                    "--webui-port",
                    str(ui_port),
                    "--work-dir",
                    str(work_dir),
                ],
                env,
                state_dir / f"worker-{i}.log",
                state_dir,
            )

        def all_alive(i: dict[str, Any]) -> bool:
            alive = [w for w in i.get("workers", []) if w.get("state") == "ALIVE"]
            return len(alive) >= workers

        _wait(procs, webui, deadline, all_alive, f"waiting for {workers} workers to be ALIVE")
    except _StartFailed as exc:
        _kill_procs(list(procs.values()))
        exc.args = (f"{exc.args[0]}\n{_logs_tail(state_dir, logs)}",)
        raise
    except BaseException:
        _kill_procs(list(procs.values()))
        raise

    return {
        "master_url": master_url,
        "webui_url": webui,
        "host": host,
        "spark_home": str(spark_home),
        "python": sys.executable,
        "workers": workers,
        "cores_per_worker": cores_per_worker,
        "memory_per_worker": memory_per_worker,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "processes": [
            {
                "name": name,
                "pid": p.pid,
                "pgid": p.pid,
                "log": str(state_dir / f"{name}.log"),
                **(
                    {"webui_url": f"http://{host}:{worker_ui_ports[int(name[7:]) - 1]}"}
                    if name.startswith("worker-")
                    else {}
                ),
            }
            for name, p in procs.items()
        ],
    }


def start_cluster(
    *,
    workers: int = 2,
    cores_per_worker: int = 1,
    memory_per_worker: str = "2g",
    state_dir: Path | str = ".cluster",
    host: str = "127.0.0.1",
    timeout: float = 90,
) -> Cluster:
    """Start a standalone master and *workers* workers; return once all workers are ALIVE.

    Raises ClusterError if a cluster recorded in *state_dir* still runs, if Java or Spark is
    missing, or if the daemons do not come up within *timeout* seconds (the message then holds
    the tail of their logs). Nothing is left running when it raises.
    """
    if workers < 1:
        raise ClusterError(f"workers must be at least 1, got {workers}.")
    if cores_per_worker < 1:
        raise ClusterError(f"cores_per_worker must be at least 1, got {cores_per_worker}.")
    if not _MEMORY_RE.match(str(memory_per_worker)):
        raise ClusterError(
            f"memory_per_worker must look like '2g' or '1536m', got {memory_per_worker!r}."
        )
    state_dir = Path(state_dir).expanduser().resolve()
    state_dir.mkdir(parents=True, exist_ok=True)

    state = _read_state(state_dir)
    if state is not None:
        if _state_running(state):
            raise ClusterError(
                f"A standalone cluster recorded in {state_dir / STATE_FILE} is already running "
                f"(master {state.get('master_url')}). Use it, or stop it first with: "
                f"{sys.executable} -m sparkvision.standalone down --state-dir {state_dir}"
            )
        stop_cluster(state_dir)  # stale state: clean up whatever is left of it

    _check_java()
    spark_home = _spark_home()
    deadline = time.monotonic() + timeout
    errors: list[str] = []
    new_state: dict[str, Any] | None = None
    for attempt in range(1, _START_ATTEMPTS + 1):
        try:
            new_state = _start_once(
                spark_home=spark_home,
                state_dir=state_dir,
                workers=workers,
                cores_per_worker=cores_per_worker,
                memory_per_worker=memory_per_worker,
                host=host,
                deadline=deadline,
                attempt=attempt,
            )
            break
        except _StartFailed as exc:
            errors.append(f"attempt {attempt}: {exc}")
            if not exc.retryable or time.monotonic() > deadline:
                break
    if new_state is None:
        raise ClusterError(
            f"Expected a Spark standalone master and {workers} ALIVE worker(s) on {host} within "
            f"{timeout:g}s, but the start failed.\n" + "\n".join(errors) + "\n"
            f"Logs are in {state_dir}. Check that Java 17+ works ('java -version'), that "
            f"{host} is usable and that there is memory for {workers} x {memory_per_worker}; "
            "a larger timeout may help on a slow machine."
        )

    tmp = state_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(new_state, indent=2) + "\n", encoding="utf-8")
    tmp.replace(state_dir / STATE_FILE)
    return _cluster_from_state(new_state, state_dir)


# --------------------------------------------------------------------------------------------
# stop


def _terminate(pids: list[int], pgids: list[int], grace: float) -> None:
    """SIGTERM the groups (and stray descendants), then SIGKILL what is left after *grace*."""
    family = _family(pids, pgids)

    def signal_all(sig: int) -> None:
        for g in pgids:
            try:
                os.killpg(g, sig)
            except (ProcessLookupError, PermissionError):
                pass
        for p in family:
            if p not in pgids and _pid_alive(p):
                try:
                    os.kill(p, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    def anything_left() -> bool:
        return any(_group_alive(g) for g in pgids) or any(_pid_alive(p) for p in family)

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while anything_left() and time.monotonic() < deadline:
        time.sleep(0.2)
    if anything_left():
        family |= _family(pids, pgids)
        signal_all(signal.SIGKILL)
        deadline = time.monotonic() + 5
        while anything_left() and time.monotonic() < deadline:
            time.sleep(0.1)


def stop_cluster(state_dir: Path | str = ".cluster") -> None:
    """Stop the cluster recorded in *state_dir*: master, workers, executors, Python workers.

    SIGTERM to every daemon's process group (and to descendants that left it, such as
    PySpark's daemon), SIGKILL to what is left after a grace period.

    Idempotent: without a state file, or when its processes are already gone, it does nothing
    except removing the state file. Processes whose command line shows they are no longer Spark
    daemons (pid reused after a reboot) are left alone.
    """
    state_dir = Path(state_dir).expanduser().resolve()
    state = _read_state(state_dir)
    if state is None:
        return
    procs = state["processes"]
    ours = [
        int(p["pid"]) for p in procs if _pid_alive(int(p["pid"])) and _looks_ours(int(p["pid"]))
    ]
    # A group whose leader is gone may still hold executors; kill it only if its members are ours.
    table = _proc_table()
    groups = []
    for p in procs:
        g = int(p.get("pgid", p["pid"]))
        if g in ours:
            groups.append(g)
        elif _group_alive(g):
            members = [q for q, (_, pg, st) in table.items() if pg == g and st != "Z"]
            if members and all(_looks_ours(q) for q in members):
                groups.append(g)
    if ours or groups:
        _terminate(ours, groups, grace=_STOP_GRACE_S)
    _reap()
    left = [p for p in ours if _pid_alive(p)]
    if left:
        raise ClusterError(
            f"Expected the Spark daemons {ours} to exit after SIGTERM and SIGKILL, but {left} "
            f"still run. Check them with 'ps -o pid,stat,cmd -p {','.join(map(str, left))}'."
        )
    try:
        _state_path(state_dir).unlink()
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------------------------
# command line


def _status_line(state: dict[str, Any]) -> tuple[bool, str]:
    dead = [
        p["name"]
        for p in state["processes"]
        if not (_pid_alive(int(p["pid"])) and _looks_ours(int(p["pid"])))
    ]
    if dead:
        return False, f"not running (stale state: {', '.join(dead)} gone)"
    try:
        info = _http_json(state["webui_url"] + "/json/")
    except (OSError, ValueError) as exc:
        return True, f"processes run, but the master UI {state['webui_url']} does not answer: {exc}"
    alive = sum(1 for w in info.get("workers", []) if w.get("state") == "ALIVE")
    apps = len(info.get("activeapps", []))
    return True, (
        f"running: {state['master_url']} (master {info.get('status')}, {alive}/"
        f"{state.get('workers', '?')} workers ALIVE, {apps} running app(s); "
        f"UI {state['webui_url']})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sparkvision.standalone",
        description="Start/stop a local Spark standalone cluster: 1 master + N workers, "
        "all on 127.0.0.1.",
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument(
        "--state-dir",
        default=os.environ.get("SPARKVISION_CLUSTER_DIR", ".cluster"),
        help="where logs, work dirs and cluster.json go (default: .cluster)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=1, help="cores per worker (default: 1)")
    parser.add_argument("--memory", default="2g", help="memory per worker (default: 2g)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait (default: 90)")
    args = parser.parse_args(argv)
    state_dir = Path(args.state_dir).expanduser().resolve()
    me = f"{sys.executable} -m sparkvision.standalone"

    try:
        if args.command == "status":
            state = _read_state(state_dir)
            if state is None:
                print(f"not running (no {state_dir / STATE_FILE})")
                return 1
            running, line = _status_line(state)
            print(line)
            return 0 if running else 1

        if args.command == "down":
            state = _read_state(state_dir)
            if state is None:
                print(
                    f"not running (no {state_dir / STATE_FILE}); nothing to stop", file=sys.stderr
                )
                return 0
            stop_cluster(state_dir)
            print(f"stopped the cluster of {state_dir}", file=sys.stderr)
            return 0

        existing = read_cluster(state_dir)
        if existing is not None:
            print(f"already running (state in {state_dir}); reusing it", file=sys.stderr)
            cluster = existing
        else:
            print(
                f"starting 1 master + {args.workers} worker(s) on 127.0.0.1 "
                f"(logs in {state_dir}) ...",
                file=sys.stderr,
            )
            t0 = time.monotonic()
            cluster = start_cluster(
                workers=args.workers,
                cores_per_worker=args.cores,
                memory_per_worker=args.memory,
                state_dir=state_dir,
                timeout=args.timeout,
            )
            print(f"cluster up in {time.monotonic() - t0:.1f}s", file=sys.stderr)
        print(f"Spark master UI: {cluster.webui_url}")
        print(f"Use it:  sparkvision classify DIR --master {cluster.master_url}")
        print(f"Stop it: {me} down --state-dir {state_dir}   (or: make cluster-down)")
        print(cluster.master_url)
        return 0
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
