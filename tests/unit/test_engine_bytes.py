"""The row UDF builds its engine from broadcast bytes: same answers as from the file."""

import numpy as np

from sparkvision.models import resolve_model
from sparkvision.models.engines import OnnxEngine, build_engine
from sparkvision.udfs.row import engine_file


def test_engine_from_bytes_equals_engine_from_file():
    spec = resolve_model("catdog")
    with open(engine_file(spec), "rb") as fh:
        data = fh.read()
    x = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)
    from_file = OnnxEngine(spec.artifact, threads=1)(x)
    from_bytes = build_engine(spec, data)(x)
    assert isinstance(build_engine(spec, data), OnnxEngine)
    np.testing.assert_array_equal(from_file["logits"], from_bytes["logits"])


def test_bad_bytes_name_their_size_not_their_content():
    import pytest

    from sparkvision.errors import ModelError

    with pytest.raises(ModelError, match="a 12-byte ONNX model"):
        OnnxEngine(b"not a model!", threads=1)
