import numpy as np
import pytest
from PIL import Image

from helpers.drawing import drawn_image, encode
from sparkvision.config import Preprocess
from sparkvision.errors import ConfigError
from sparkvision.imaging import prepare, prepare_batch, to_array
from sparkvision.imaging.decode import ImageProblem

PREPROCESS = Preprocess()  # the built-in models' preprocessing


def test_shape_and_layout():
    img = drawn_image(0, (320, 240))
    assert to_array(img, PREPROCESS).shape == (3, 224, 224)
    nhwc = Preprocess(layout="nhwc")
    assert to_array(img, nhwc).shape == (224, 224, 3)
    assert to_array(img, PREPROCESS).dtype == np.float32


def test_normalisation_values():
    img = Image.new("RGB", (300, 300), (255, 127, 0))
    arr = to_array(img, PREPROCESS)
    np.testing.assert_allclose(arr[:, 100, 100], [(255 - 127) / 128, 0.0, -127 / 128], atol=1e-6)
    imagenet = Preprocess(scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    arr = to_array(img, imagenet)
    np.testing.assert_allclose(arr[0, 5, 5], (1.0 - 0.485) / 0.229, atol=1e-5)


def test_center_crop_keeps_the_middle_of_a_wide_image():
    img = Image.new("RGB", (900, 300), (255, 0, 0))
    img.paste((0, 0, 255), (300, 0, 600, 300))  # middle third blue
    arr = to_array(img, Preprocess(mean=(0, 0, 0), std=(1, 1, 1)))
    assert arr[2].min() > 250 and arr[0].max() < 5  # only blue survives the crop


def test_box_resize_matches_resize_then_crop():
    img = drawn_image(7, (500, 375))
    pre = Preprocess(mean=(0, 0, 0), std=(1, 1, 1))
    ours = to_array(img, pre)
    w, h = img.size
    scale = pre.resize / min(w, h)
    big = img.resize((round(w * scale), round(h * scale)), Image.Resampling.BILINEAR)
    left, top = (big.size[0] - 224) // 2, (big.size[1] - 224) // 2
    crop = big.crop((left, top, left + 224, top + 224))
    ref = np.asarray(crop, dtype=np.float32).transpose(2, 0, 1)
    assert np.abs(ours - ref).mean() < 2.0  # sub-pixel alignment differences only


def test_prepare_batch_keeps_order_and_failures():
    good = encode(drawn_image(1), "JPEG")
    items = [good, b"", ImageProblem("missing", "gone"), good]
    batch, ok, failed = prepare_batch(items, PREPROCESS)
    assert batch.shape == (2, 3, 224, 224)
    assert ok == [0, 3]
    assert failed[1].kind == "empty" and failed[2].kind == "missing"


def test_same_input_same_array_every_time():
    data = encode(drawn_image(5, (640, 480)), "JPEG")
    np.testing.assert_array_equal(prepare(data, PREPROCESS), prepare(data, PREPROCESS))


def test_invalid_preprocess_is_rejected_with_advice():
    with pytest.raises(ConfigError, match="resize"):
        Preprocess(size=300, resize=256)
