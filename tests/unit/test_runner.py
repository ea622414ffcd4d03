"""The batch runner with the real built-in model, in this process (no Spark)."""

import numpy as np
import pytest

from helpers.drawing import drawn_image, encode, write_images
from sparkvision.executor import predict_frame, result_columns
from sparkvision.models import resolve_model
from sparkvision.models.builtin.catalog import FEATURE_DIM
from sparkvision.models.builtin.imagenet import IMAGENET_CLASSES


@pytest.fixture(scope="module")
def images():
    return [encode(drawn_image(i, (400 + 40 * i, 300)), "JPEG") for i in range(5)]


def test_one_row_per_input_in_order_with_errors(images, tmp_path):
    spec = resolve_model("catdog")
    items = [images[0], b"", None, str(tmp_path / "missing.jpg"), images[1]]
    frame = predict_frame(items, spec, batch_size=2)
    assert list(frame.columns) == result_columns("catdog")
    assert len(frame) == 5
    assert list(frame["error_kind"]) == [None, "empty", "missing", "missing", None]
    assert frame.loc[[0, 4], "label"].isin(["cat", "dog", "other"]).all()
    assert frame.loc[[1, 2, 3], "label"].isna().all()
    assert ((frame.loc[[0, 4], "score"] > 0) & (frame.loc[[0, 4], "score"] <= 1)).all()


def test_batch_size_does_not_change_results(images):
    spec = resolve_model("imagenet")
    a = predict_frame(images, spec, batch_size=1)
    b = predict_frame(images, spec, batch_size=5)
    assert list(a["label"]) == list(b["label"])
    np.testing.assert_allclose(a["score"], b["score"], atol=1e-5)
    assert all(lbl in IMAGENET_CLASSES for lbl in a["label"])
    assert all(len(t) == 5 and list(t) == sorted(t, reverse=True) for t in a["top5_scores"])


def test_paths_and_bytes_give_the_same_embedding(images, tmp_path):
    paths = write_images(str(tmp_path), ["a.jpg"])
    with open(paths[0], "rb") as fh:
        data = fh.read()
    spec = resolve_model("embedding", task="embed")
    frame = predict_frame([paths[0], data], spec, batch_size=2)
    v0, v1 = frame["embedding"]
    assert v0.dtype == np.float32 and len(v0) == FEATURE_DIM
    np.testing.assert_allclose(v0, v1, atol=1e-6)


def test_torch_and_onnx_engines_agree(images, torch):
    onnx = predict_frame(images, resolve_model("embedding", task="embed"), batch_size=5)
    torch_ = predict_frame(images, resolve_model("embedding", task="embed", engine="torch"),
                           batch_size=5)
    for a, b in zip(onnx["embedding"], torch_["embedding"], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3, rtol=1e-3)


def test_each_stage_of_a_batch_is_timed(images, tmp_path):
    from sparkvision.runtime.timing import CLOCK, STAGES

    spec = resolve_model("catdog")
    paths = write_images(str(tmp_path), ["a.jpg", "b.jpg"])
    predict_frame(images[:2], spec, batch_size=2)  # the engine is built before the clock
    CLOCK.take()
    predict_frame([*paths, *images], spec, batch_size=3)
    times = CLOCK.take()
    assert set(times) <= set(STAGES)
    # the files were read, every image decoded and run through the model, rows made
    assert {"load", "read", "decode", "engine", "rows"} <= set(times)
    assert all(seconds >= 0 for seconds in times.values())
    assert times["engine"] > times["load"]  # the engine was already built: a lookup
    assert CLOCK.take() == {}
