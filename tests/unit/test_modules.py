"""Every module of sparkvision imports without the optional extras, and the examples in
its docstrings (``>>>``) run and print what they show, without Spark or a network."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import json
import pkgutil
import socket
import subprocess
import sys

import pytest

import sparkvision
from sparkvision.errors import MissingExtraError

MODULES = sorted(m.name for m in pkgutil.walk_packages(sparkvision.__path__, "sparkvision."))
MODULES.insert(0, "sparkvision")

#: Packages of the extras (pyproject.toml) and others that only some features import.
OPTIONAL = ("keras", "h5py", "transformers", "safetensors", "ray", "daft", "matplotlib",
            "psutil", "deltalake", "fsspec", "skimage", "grpc")


@pytest.fixture
def no_spark_no_network(monkeypatch):
    """Starting Spark or opening a connection fails the example that tries it."""
    from pyspark.sql import SparkSession

    def refuse(*args, **kwargs):
        raise AssertionError("a docstring example must run without Spark or a network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", refuse)


def test_the_module_list_is_complete():
    assert {"sparkvision.api", "sparkvision.config", "sparkvision.models.resolve",
            "sparkvision.bench.peers.ray_data"} <= set(MODULES)


def _import_or_skip(name: str):
    """The module, or a skip where it needs an extra that is not installed here."""
    try:
        return importlib.import_module(name)
    except MissingExtraError as exc:
        if importlib.util.find_spec(exc.module) is not None:
            raise
        pytest.skip(f"needs the {exc.extra} extra: pip install 'sparkvision[{exc.extra}]'")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, no_spark_no_network):
    module = _import_or_skip(name)
    runner = doctest.DocTestRunner()
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module, name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


@pytest.mark.timeout(400)  # a fresh interpreter imports every module
def test_modules_import_without_the_optional_packages():
    script = f"""
import importlib, importlib.util, json, sys
from sparkvision.errors import MissingExtraError
blocked = {OPTIONAL!r}

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Absent())
needs = {{}}
imported = 0
for name in {MODULES!r}:
    try:
        importlib.import_module(name)
        imported += 1
    except MissingExtraError as exc:  # a module of an extra that is not installed at all
        if exc.module in blocked or importlib.util.find_spec(exc.module) is not None:
            raise
        needs[name] = exc.extra
print("imported", imported)
print(json.dumps(needs))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # only the modules of the torch engine need torch (not installed in a core install),
    # and only the MLflow flavor's module needs mlflow to be imported
    needs = json.loads(done.stdout.splitlines()[-1])
    assert set(needs.values()) <= {"torch", "mlflow"}, needs
    assert [m for m, extra in needs.items() if extra == "mlflow"] in (
        [], ["sparkvision.mlflow.pyfunc"]), needs
    if importlib.util.find_spec("torch") is not None:
        assert needs == {}
    assert f"imported {len(MODULES) - len(needs)}" in done.stdout
