"""A model file shipped by broadcast gives the same answers as the file read by path:
the row UDF's way and every other way load the built-in model through one registry."""

import hashlib

import numpy as np
import pytest

from sparkvision.errors import ModelError
from sparkvision.models import resolve_model
from sparkvision.models.registry import build_engine
from sparkvision.runtime.shipping import Shipped


class FakeBroadcast:
    def __init__(self, data: bytes) -> None:
        self.value = data


def test_builtin_engine_from_broadcast_bytes_equals_engine_from_file(tmp_path, monkeypatch):
    spec = resolve_model("catdog")
    with open(spec.artifact, "rb") as fh:
        data = fh.read()
    monkeypatch.setenv("SPARKVISION_CACHE", str(tmp_path))  # a worker with a cold cache
    shipped = spec.with_(shipped=Shipped(FakeBroadcast(data), spec.artifact_sha256, ".onnx"),
                         artifact="/not/on/this/worker.onnx")
    x = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)
    np.testing.assert_array_equal(build_engine(spec)(x)["output"],
                                  build_engine(shipped)(x)["output"])


def test_bad_model_bytes_are_refused_with_the_file_named(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model!")
    sha = hashlib.sha256(b"not a model!").hexdigest()
    spec = resolve_model("catdog").with_(artifact=str(bad), artifact_sha256=sha)
    with pytest.raises(ModelError, match=r"ONNX Runtime could not load .*bad\.onnx"):
        build_engine(spec)
