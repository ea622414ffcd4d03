"""A Spark Connect server for the tests that run jobs through ``sc://`` (tools/sparkconnect.py).

Started once per test session on a free port of 127.0.0.1, with its pid file, log and working
directory in a pytest temp dir; always stopped at the end, also when tests fail. Tests using it
carry ``pytest.mark.connect`` (skip them with ``-m "not connect"``).

A process that has opened a Connect session stays in Connect mode (pyspark sets
SPARK_CONNECT_MODE_ENABLED in os.environ), which would break the local-mode Spark tests of the
same pytest run: the clients therefore run in child processes.

A client of a server that has stopped retries for many minutes before it gives up. While a
test runs, a watchdog looks at the server every second: if it has stopped, the watchdog ends
the test's clients at once, the test fails with the end of the server's log (what stopped it)
and the next test gets a new server, so one lost server costs one test, not the whole folder.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparkconnect import ConnectServer, read_connect, start_connect, stop_connect
from sparkdaemons import family, pid_alive


class _Servers:
    """The session's server, started again (in a new folder, the old log kept) if it stops."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self.started: list[Path] = []
        self.current: ConnectServer | None = None

    def get(self) -> ConnectServer:
        if self.current is None or read_connect(self.current.state_dir) is None:
            state_dir = self._factory.mktemp("connect-server")
            self.started.append(state_dir)
            # 2 shared cores: allow more than the default 120 s
            self.current = start_connect(port=0, master="local[2]", memory="2g",
                                         state_dir=state_dir, timeout=240)
        return self.current

    def stop_all(self) -> None:
        for state_dir in self.started:
            stop_connect(state_dir)  # idempotent; also cleans up after a failed start


def _log_tail(server: ConnectServer, lines: int = 60) -> str:
    try:
        text = server.log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return f"(its log {server.log} cannot be read: {exc})"
    tail = "\n".join(text[-lines:])
    return (f"the last {min(lines, len(text))} lines of {server.log}:\n{tail}\n(no JVM error "
            "above: it was killed from outside, e.g. by the kernel's out-of-memory killer)"
            if "Exception" not in tail and "Error" not in tail else
            f"the last {min(lines, len(text))} lines of {server.log}:\n{tail}")


def _clients_of(server: ConnectServer) -> list[int]:
    """This test run's child processes that talk to *server* (its URL in their command line or
    environment); the server's own processes are not among them."""
    port = server.url.rsplit(":", 1)[1].encode()
    found = []
    for pid in family([os.getpid()]) - {os.getpid()}:
        for part in ("cmdline", "environ"):
            try:
                raw = Path(f"/proc/{pid}/{part}").read_bytes()
            except OSError:
                continue
            if b"sc://127.0.0.1:" + port in raw:
                found.append(pid)
                break
    return found


def _watch(server: ConnectServer, done: threading.Event, stopped: threading.Event) -> None:
    while not done.wait(1.0):
        if not pid_alive(server.pid):
            stopped.set()
            for pid in _clients_of(server):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return


@pytest.fixture(scope="session")
def _connect_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Servers]:
    servers = _Servers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture
def connect_server(_connect_servers: _Servers) -> Iterator[ConnectServer]:
    """A running Spark Connect server (local[2], 2 GB heap); its URL is ``.url``."""
    server = _connect_servers.get()
    done, stopped = threading.Event(), threading.Event()
    watchdog = threading.Thread(target=_watch, args=(server, done, stopped), daemon=True)
    watchdog.start()
    try:
        yield server
    finally:
        done.set()
        watchdog.join()
    if stopped.is_set() or not pid_alive(server.pid):
        pytest.fail("The Spark Connect server of this test stopped while it ran (its clients "
                    "were ended then); the next test gets a new one. "
                    + _log_tail(server), pytrace=False)
