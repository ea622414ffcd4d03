"""Run the daemons of the installed pyspark wheel through its own sbin scripts.

Shared by ``sparkcluster.py`` (standalone master + workers) and ``sparkconnect.py`` (Spark
Connect server), which are test and demo tooling outside the sparkvision package. Every daemon
is started by ``sbin/spark-daemon.sh`` (directly or via ``sbin/start-connect-server.sh``) with
its pid file and log in a state dir of ours, and every server binds 127.0.0.1. Linux only: the
processes are found and checked through /proc.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
IDENT = "sparkvision"  # SPARK_IDENT_STRING: part of spark-daemon.sh's pid and log file names
_STOP_GRACE_S = 15.0
_SPARK_MARKERS = ("org.apache.spark.", "pyspark")


class ClusterError(RuntimeError):
    """A local Spark daemon could not be started, found or stopped."""


def spark_home() -> Path:
    """The installed pyspark package: the pip wheel ships bin/, sbin/ and jars/ in it."""
    try:
        import pyspark
    except ImportError as exc:
        raise ClusterError(
            f"Expected PySpark in this Python ({sys.executable}), but 'import pyspark' failed "
            f"({exc}). Run 'make venv', or: pip install 'pyspark>=4'"
        ) from exc
    home = Path(pyspark.__file__).resolve().parent
    if not (home / "sbin" / "spark-daemon.sh").is_file():
        raise ClusterError(
            f"Expected sbin/spark-daemon.sh in the pyspark package at {home} (the pyspark 4 "
            "wheel ships it), but it is missing. Reinstall it: pip install --force-reinstall "
            "'pyspark>=4'"
        )
    return home


def check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    if (java_home and (Path(java_home) / "bin" / "java").exists()) or shutil.which("java"):
        return
    raise ClusterError(
        "Spark needs a Java runtime (17 or newer), but no 'java' was found on PATH and "
        f"JAVA_HOME is {java_home!r}. Install one (e.g. apt-get install openjdk-17-jre-headless) "
        "or set JAVA_HOME."
    )


def free_port(port: int = 0) -> int:
    """*port* if nothing listens on it on HOST (a free port for 0); ClusterError if it is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the JVM servers bind
        try:
            s.bind((HOST, port))
        except OSError as exc:
            raise ClusterError(
                f"Expected port {port} on {HOST} to be free, but it is taken ({exc.strerror}). "
                f"Stop what listens there (see 'ss -ltnp | grep :{port}') or choose another "
                "port (0 picks a free one)."
            ) from exc
        return int(s.getsockname()[1])


def state_path(state_dir: Path | str) -> Path:
    return Path(state_dir).expanduser().resolve()


def daemon_env(state_dir: Path, java_opts: str = "") -> dict[str, str]:
    """The environment for the sbin scripts: pid files and logs in *state_dir*, servers on HOST."""
    env = dict(os.environ)
    # SPARK_MASTER would make spark-daemon.sh rsync from it; a user's conf dir must not leak in
    for name in ("SPARK_MASTER", "SPARK_CONF_DIR", "SPARK_NO_DAEMONIZE", "SPARK_LOCAL_HOSTNAME",
                 "SPARK_PUBLIC_DNS"):
        env.pop(name, None)
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_LOCAL_IP=HOST,  # also makes the web UIs bind HOST rather than 0.0.0.0
        SPARK_PID_DIR=str(state_dir),
        SPARK_LOG_DIR=str(state_dir),
        SPARK_IDENT_STRING=IDENT,
        PYSPARK_PYTHON=sys.executable,  # Python workers run this interpreter (venv packages)
    )
    if java_opts:
        env["SPARK_DAEMON_JAVA_OPTS"] = f"{env.get('SPARK_DAEMON_JAVA_OPTS', '')} {java_opts}"
    return env


def sbin(script: str, *args: str, env: dict[str, str], cwd: Path) -> str:
    """Run pyspark's sbin/<script> to its end (spark-daemon.sh waits ~2.5 s per start).

    Its own session: the daemon it leaves behind gets a process group of its own, away from
    the terminal's Ctrl-C.
    """
    run = subprocess.run(
        ["bash", str(Path(env["SPARK_HOME"]) / "sbin" / script), *args],
        env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        start_new_session=True, timeout=120,
    )
    return run.stdout + run.stderr


def pid_file(state_dir: Path, cls: str, instance: int) -> Path:
    return state_dir / f"spark-{IDENT}-{cls}-{instance}.pid"


def log_file(state_dir: Path, cls: str, instance: int) -> Path:
    """spark-daemon.sh's log of that daemon (its name ends in the host name)."""
    found = list(state_dir.glob(f"spark-{IDENT}-{cls}-{instance}-*.out"))
    if found:
        return max(found, key=lambda p: p.stat().st_mtime)
    return state_dir / f"spark-{IDENT}-{cls}-{instance}-{socket.gethostname()}.out"


def instances(state_dir: Path, cls: str) -> list[int]:
    """The instance numbers of *cls* that have a pid file in *state_dir*."""
    return sorted(int(f.stem.rsplit("-", 1)[1])
                  for f in state_dir.glob(f"spark-{IDENT}-{cls}-*.pid"))


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether *pid* runs (a zombie counts as gone)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def daemon_pid(state_dir: Path, cls: str, instance: int) -> int | None:
    """The pid in spark-daemon.sh's pid file if that process still runs Spark, else None."""
    try:
        pid = int(pid_file(state_dir, cls, instance).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) and cls in _cmdline(pid) else None


def family(pids: list[int]) -> set[int]:
    """*pids* and their live descendants: executors, PySpark's daemon (which moves itself into
    a process group of its own) and its Python workers."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        fields = _stat(int(name)) if name.isdigit() else None
        if fields is not None and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(name))
    found: set[int] = set()
    todo = [p for p in pids if pid_alive(p)]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _wait_gone(pids: set[int], grace: float) -> set[int]:
    deadline = time.monotonic() + grace
    while (left := {p for p in pids if pid_alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def stop_daemons(state_dir: Path, daemons: list[tuple[str, int]]) -> None:
    """``spark-daemon.sh stop`` for each (class, instance), then wait for everything they had
    started to exit; SIGKILL what is left after a grace period. Idempotent."""
    tree = family([p for c, i in daemons if (p := daemon_pid(state_dir, c, i)) is not None])
    if tree:
        env = daemon_env(state_dir)
        for cls, instance in daemons:
            if daemon_pid(state_dir, cls, instance) is not None:
                sbin("spark-daemon.sh", "stop", cls, str(instance), env=env, cwd=state_dir)
    for cls, instance in daemons:
        pid_file(state_dir, cls, instance).unlink(missing_ok=True)
    left = _wait_gone(tree, _STOP_GRACE_S)
    for pid in left:
        if any(m in _cmdline(pid) for m in _SPARK_MARKERS):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    left = _wait_gone(left, 5.0)
    if left:
        raise ClusterError(
            f"Expected the Spark processes {sorted(tree)} to exit after SIGTERM and SIGKILL, but "
            f"{sorted(left)} still run. Look at them: ps -o pid,stat,cmd -p "
            + ",".join(map(str, sorted(left)))
        )


def wait_for(probe: Callable[[], Any], deadline: float, state_dir: Path,
             daemons: list[tuple[str, int]]) -> Any:
    """Call *probe* until it returns something true (returned) or *deadline* passes (None).

    Raises ClusterError, with the end of its log, as soon as one of *daemons* has exited.
    """
    while True:
        for cls, instance in daemons:
            if daemon_pid(state_dir, cls, instance) is None:
                raise ClusterError(failure(state_dir, cls, instance, "it exited during the start"))
        result = probe()
        if result or time.monotonic() > deadline:
            return result or None
        time.sleep(0.25)


def failure(state_dir: Path, cls: str, instance: int, what: str, lines: int = 15) -> str:
    """An error message: what went wrong with the daemon, its log file and the log's end."""
    log = log_file(state_dir, cls, instance)
    try:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        tail = ["(no log)"]
    hint = ""
    if any("Address already in use" in line for line in tail):
        hint = " A port it needs is taken: choose another port, or stop what holds it."
    body = "\n".join(f"   | {line}" for line in tail)
    return f"Spark {cls.rsplit('.', 1)[1]} {instance}: {what}.{hint}\nRead its log {log}:\n{body}"


def http_json(url: str, timeout: float = 2.0) -> Any:
    # No proxies: the daemons are local, and http_proxy in the environment must not reroute us.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ClusterError(
            f"Expected {path} to hold the JSON written at start, but it could not be read "
            f"({exc}). Stop leftover Spark daemons by hand and delete the file."
        ) from exc
    return state if isinstance(state, dict) else None


def write_json(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# the up / down / status command line of both tools


def start_or_reuse(found: Any, start: Callable[[], Any], *, state_dir: Path, starting: str,
                   what: str) -> Any:
    """``found`` when a daemon set is already running, else what ``start()`` returns; says
    which on standard error (with ``starting`` first and the start-up time after)."""
    if found is not None:
        print(f"already running (state in {state_dir}); reusing it", file=sys.stderr)
        return found
    print(starting, file=sys.stderr)
    t0 = time.monotonic()
    started = start()
    print(f"{what} up in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    return started


def stop_hint(make_target: str, tool: str, state_dir: Path) -> str:
    """The line telling how to stop it: the make target, or the tool itself."""
    return (f"Stop it: make {make_target}   (or: {sys.executable} {tool} down "
            f"--state-dir {state_dir})")


def daemon_cli(argv: list[str] | None, *, prog: str, description: str, state_dir: str,
               state_help: str, timeout: float,
               add_options: Callable[[argparse.ArgumentParser], None],
               commands: dict[str, Callable[[argparse.Namespace, Path], int]]) -> int:
    """Parse ``up``/``down``/``status`` with ``--state-dir``, ``--timeout`` and the tool's
    own options, run the command; a :class:`ClusterError` is one ``error:`` line and 1."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("command", choices=list(commands))
    parser.add_argument("--state-dir", default=state_dir, help=f"{state_help} (default: "
                        f"{state_dir})")
    add_options(parser)
    parser.add_argument("--timeout", type=float, default=timeout,
                        help=f"seconds to wait (default: {timeout:g})")
    args = parser.parse_args(argv)
    try:
        return commands[args.command](args, state_path(args.state_dir))
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
