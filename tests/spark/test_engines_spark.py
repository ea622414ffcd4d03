"""One Spark run on OpenVINO in int8: the quantized file reaches the Python workers and
gives there what it gives without Spark."""

from __future__ import annotations

import numpy as np
import pytest

import sparkvision as sv
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model

pytestmark = pytest.mark.spark


def test_iterator_udf_runs_openvino_int8_like_the_python_execution(spark, image_folder):
    frame = sv.classify(image_folder, model="imagenet", engine="openvino",
                        precision="int8").toPandas().sort_values("path")
    assert frame["error"].isna().all() and len(frame) == 11
    spec = resolve_model("imagenet", engine="openvino", precision="int8")
    local = predict_frame(frame["path"].tolist(), spec, batch_size=32)
    assert frame["label"].tolist() == local["label"].tolist()
    assert np.allclose(frame["score"], local["score"], atol=1e-5)
