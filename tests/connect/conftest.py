"""A Spark Connect server for the tests that run jobs through ``sc://`` (tools/sparkconnect.py).

Started once per test session on a free port of 127.0.0.1, with its pid file, log and working
directory in a pytest temp dir; always stopped at the end, also when tests fail. Tests using it
carry ``pytest.mark.connect`` (skip them with ``-m "not connect"``).

A process that has opened a Connect session stays in Connect mode (pyspark sets
SPARK_CONNECT_MODE_ENABLED in os.environ), which would break the local-mode Spark tests of the
same pytest run: the clients therefore run in child processes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sparkconnect import ConnectServer, start_connect, stop_connect


@pytest.fixture(scope="session")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectServer]:
    """A running Spark Connect server (local[2], 1 GB heap); its URL is ``.url``."""
    state_dir = tmp_path_factory.mktemp("connect-server")
    try:
        # 2 shared cores: allow more than the default 120 s
        yield start_connect(port=0, master="local[2]", memory="1g", state_dir=state_dir,
                            timeout=240)
    finally:
        stop_connect(state_dir)  # idempotent; also cleans up after a failed or partial start
