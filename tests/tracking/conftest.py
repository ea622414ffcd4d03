"""A real MLflow tracking server and model registry on 127.0.0.1 for the MLflow tests: the
command ``make mlflow-up`` runs (SQLite backend store, local artifact store), started once
per test session in a temporary folder and stopped afterwards, its whole process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from helpers.extras import need


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory, request):
    """The server's URI, set as MLFLOW_TRACKING_URI for the tests. The shared Spark session
    starts while the server does (each takes seconds)."""
    need("mlflow", "mlflow")
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    command = [os.path.join(os.path.dirname(sys.executable), "mlflow"), "server",
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
               "--artifacts-destination", str(root / "artifacts")]
    with open(root / "log", "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root,
                                start_new_session=True)
    try:
        request.getfixturevalue("spark")
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the MLflow server did not start:\n"
                                + (root / "log").read_text(errors="replace")[-3000:])
                time.sleep(0.25)
        saved = os.environ.get("MLFLOW_TRACKING_URI")
        os.environ["MLFLOW_TRACKING_URI"] = uri
        yield uri
    finally:
        # the server's web worker and job runner go with it: the whole process group; what
        # it has written is thrown away with the folder, so there is nothing to wait for
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    if saved is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = saved
