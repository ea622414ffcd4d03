"""Shared fixtures: one local Spark session for all Spark tests, drawn image folders."""

from __future__ import annotations

import os
import sys

import pytest

from helpers.drawing import write_images
from helpers.extras import need


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep exported engine files out of the user's cache, shared by every test."""
    if "SPARKVISION_CACHE" not in os.environ:
        os.environ["SPARKVISION_CACHE"] = str(tmp_path_factory.mktemp("sv-cache"))
    yield


@pytest.fixture(scope="session")
def spark():
    """One local session (2 cores) for every Spark test."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from sparkvision.runtime.session import get_session

    session = get_session("local[2]", app_name="sparkvision-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    """A small labelled folder: cat/ and dog/ with seed-style names, mixed formats."""
    root = tmp_path_factory.mktemp("images")
    names = [f"cat/cat.{i}.jpg" for i in range(5)] + [f"dog/dog.{i}.jpg" for i in range(4)]
    names += ["dog/dog.10.png", "cat/cat.20.webp"]
    write_images(str(root), names)
    return str(root)


@pytest.fixture(scope="session")
def torch():
    """torch, or a skip that names the torch extra."""
    return need("torch", "torch")


@pytest.fixture(scope="session")
def byo_nets(torch):
    """tests/byo_nets.py (the networks the "your own model" tests build; needs torch)."""
    import byo_nets

    return byo_nets


@pytest.fixture(scope="session")
def keras():
    """Keras 3 (on the torch backend: tests/byo_nets.py sets it), or a skip that names the
    keras extra."""
    need("torch", "keras")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return need("keras", "keras")
