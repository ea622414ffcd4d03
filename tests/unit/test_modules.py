"""Every module of sparkvision imports without the optional extras, and the examples in
its docstrings (``>>>``) run and print what they show, without Spark or a network."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import socket
import subprocess
import sys

import pytest

import sparkvision

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


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, no_spark_no_network):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner()
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module, name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


@pytest.mark.timeout(400)  # a fresh interpreter imports every module
def test_modules_import_without_the_optional_packages():
    script = f"""
import importlib, sys
blocked = {OPTIONAL!r}

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Absent())
for name in {MODULES!r}:
    importlib.import_module(name)
print("imported", len({MODULES!r}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"imported {len(MODULES)}" in done.stdout
