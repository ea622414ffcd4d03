"""Decoded pixels (Spark's image source) go through the same preprocessing as file bytes,
and every image struct row becomes pixels or a per-row problem (no Spark here)."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers.drawing import drawn_image, encode
from sparkvision.config import Preprocess
from sparkvision.executor import predict_frame
from sparkvision.imaging import ImageProblem, prepare, prepare_batch, prepare_pixels
from sparkvision.models import resolve_model
from sparkvision.sources.spark_images import IMAGE_FIELDS, image_items, pixels, row_item
from sparkvision.udfs import batch_items

PRE = Preprocess()


def as_spark_pixels(data: bytes) -> np.ndarray:
    """What Spark's image source holds for a lossless file: grey, BGR or BGRA bytes."""
    img = Image.open(io.BytesIO(data))
    img.load()
    arr = np.asarray(img)
    if img.mode == "L":
        return arr[:, :, None]
    return arr[:, :, [2, 1, 0, 3][: arr.shape[2]]].copy()


def struct_row(arr: np.ndarray, origin: str = "file:/x.png") -> dict:
    h, w, c = arr.shape
    return {"origin": origin, "height": h, "width": w, "nChannels": c,
            "mode": {1: 0, 3: 16, 4: 24}[c], "data": arr.tobytes()}


@pytest.mark.parametrize("mode, size", [("RGB", (320, 240)), ("RGBA", (300, 500)),
                                        ("L", (260, 260)), ("RGB", (1400, 900))])
def test_png_pixels_prepare_exactly_like_its_bytes(mode, size):
    img = drawn_image(3, size)
    if mode == "RGBA":
        img = img.convert("RGBA")
        img.putalpha(Image.linear_gradient("L").resize(size))
    else:
        img = img.convert(mode)
    data = encode(img, "PNG")
    np.testing.assert_array_equal(prepare_pixels(as_spark_pixels(data), PRE), prepare(data, PRE))


def test_channels_are_read_in_bgr_order():
    bgr = np.zeros((300, 300, 3), dtype=np.uint8)
    bgr[..., 2] = 255  # red in BGR
    arr = prepare_pixels(bgr, PRE)
    np.testing.assert_allclose(arr[:, 150, 150], [(255 - 127) / 128, -127 / 128, -127 / 128])


def test_bad_pixel_arrays_are_problems():
    with pytest.raises(ImageProblem) as exc:
        prepare_pixels(np.zeros((4, 4, 3), dtype=np.float32), PRE)
    assert exc.value.kind == "bad_input" and "float32" in str(exc.value)
    with pytest.raises(ImageProblem) as exc:
        prepare_pixels(np.zeros((2000, 2000, 3), dtype=np.uint8), PRE, max_pixels=1000)
    assert exc.value.kind == "too_large"


def test_struct_rows_become_pixels_or_problems():
    good = as_spark_pixels(encode(drawn_image(1), "PNG"))
    rows = [
        struct_row(good),
        {"origin": "file:/bad.webp", "height": -1, "width": -1, "nChannels": -1, "mode": -1,
         "data": b""},  # what dropInvalid=false gives for a file Spark cannot decode
        dict.fromkeys(IMAGE_FIELDS),  # a null struct: Arrow gives every field null
        dict(struct_row(good), mode=21),  # CV_32FC3
        dict(struct_row(good), data=good.tobytes()[:-5]),
    ]
    frame = pd.DataFrame(rows, columns=list(IMAGE_FIELDS))
    frame.loc[2, "height"] = np.nan  # pandas turns a null int into NaN (or pd.NA)
    frame.loc[2, "width"] = pd.NA
    items = image_items(frame)
    assert isinstance(items[0], np.ndarray) and items[0].shape == good.shape
    kinds = [getattr(item, "kind", None) for item in items]
    assert kinds == [None, "decode_failed", "missing", "bad_input", "bad_input"]
    assert "file:/bad.webp" in str(items[1]) and "binaryFile" in str(items[1])
    assert "CV_8UC3" in str(items[3]) and "bytes" in str(items[4])
    assert batch_items(frame)[1].kind == "decode_failed"
    assert batch_items(pd.Series(["a.jpg", None])) == ["a.jpg", None]
    assert row_item(None).kind == "missing"
    other = batch_items(pd.DataFrame({"x": [1, 2]}))  # a struct of another kind
    assert [p.kind for p in other] == ["bad_input"] * 2 and "origin" in str(other[0])


def test_pixel_view_is_not_a_copy():
    data = bytes(range(240)) * 9  # 30 x 24 x 3 bytes
    arr = pixels("o", 30, 24, 3, 16, data)
    assert isinstance(arr, np.ndarray) and arr.base is not None and not arr.flags.writeable


def test_runner_takes_pixels_bytes_and_problems_in_one_batch():
    data = encode(drawn_image(2), "PNG")
    spec = resolve_model("imagenet")
    problem = pixels("file:/gone.jpg", -1, -1, -1, -1, b"")
    frame = predict_frame([as_spark_pixels(data), problem, data], spec, batch_size=3)
    assert list(frame["error_kind"]) == [None, "decode_failed", None]
    assert frame["label"][0] == frame["label"][2]
    assert abs(frame["score"][0] - frame["score"][2]) < 1e-5
    batch, ok, failed = prepare_batch([as_spark_pixels(data), problem], PRE)
    assert ok == [0] and list(failed) == [1] and batch.shape == (1, 3, 224, 224)
