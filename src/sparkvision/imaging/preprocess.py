"""Decoded image -> normalised float32 array, as the model's :class:`Preprocess` says.

This module is the only place pixels are resized, cropped and normalised; the Spark UDFs,
the single-process runner and the tests all call :func:`prepare`.

Two decode modes (``Preprocess.decode``):

- ``fast`` (the built-in models): JPEGs are decoded at 1/2, 1/4 or 1/8 scale and other
  images shrunk by a whole factor while the shorter side stays at least ``resize``
  (:mod:`sparkvision.imaging.decode`); the crop is then resampled straight from source
  coordinates, centred to the sub-pixel.
- ``exact`` (Hugging Face folders and users' models): full-size decode, then what
  transformers' image processors do: resize the whole image (the shorter side to
  ``resize``, the longer one truncated to whole pixels, ``int(resize * long / short)``),
  then crop ``size`` x ``size`` at the whole-pixel offset ``(resized - size) // 2``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
from PIL import Image

from sparkvision.config import Preprocess
from sparkvision.imaging.decode import DEFAULT_MAX_PIXELS, decode_image, image_from_pixels

RESAMPLE = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


def to_array(img: Image.Image, pre: Preprocess) -> np.ndarray:
    """Resize the shorter side to ``pre.resize``, center-crop ``pre.size`` and normalise.

    With ``pre.crop == "none"`` the whole image is resized to ``size`` x ``size`` (the
    aspect ratio is not kept), as Keras' image loaders and ViT-style processors do.
    ``pre.decode`` picks the geometry of the crop (see the module docstring).
    """
    pixels = np.asarray(resize_crop(img, pre))  # H x W x 3, uint8
    table = _normalise_table(pre.scale, pre.mean, pre.std)
    arr = np.empty((3, pre.size, pre.size) if pre.layout == "nchw" else (pre.size, pre.size, 3),
                   dtype=np.float32)
    for c in range(3):  # a lookup per channel: normalised and laid out in one pass
        np.take(table[c], pixels[:, :, c], out=arr[c] if pre.layout == "nchw" else arr[:, :, c])
    return arr


def resize_crop(img: Image.Image, pre: Preprocess) -> Image.Image:
    """``img`` resized and cropped to the ``pre.size`` x ``pre.size`` model input."""
    resample = RESAMPLE[pre.interpolation]
    width, height = img.size
    if pre.crop == "none":
        return img.resize((pre.size, pre.size), resample)
    if pre.decode == "exact":
        new_w, new_h = exact_resize(width, height, pre.resize)
        left, top = (new_w - pre.size) // 2, (new_h - pre.size) // 2
        resized = img.resize((new_w, new_h), resample)
        return resized.crop((left, top, left + pre.size, top + pre.size))
    # fast: the crop in source coordinates, resampled in one step (Image.resize(box=...)),
    # without resizing the parts that the crop throws away
    scale = pre.resize / min(width, height)
    # side of the crop, in source pixels (never past the image: with resize == size the
    # division can land a rounding error above the shorter side)
    crop_src = min(pre.size / scale, float(min(width, height)))
    x0 = (width - crop_src) / 2.0
    y0 = (height - crop_src) / 2.0
    return img.resize((pre.size, pre.size), resample, box=(x0, y0, x0 + crop_src, y0 + crop_src))


def exact_resize(width: int, height: int, shortest: int) -> tuple[int, int]:
    """The size a shortest-edge resize gives, with the longer side truncated to whole
    pixels as transformers (and torchvision) compute it.

    >>> exact_resize(4000, 3000, 256), exact_resize(1700, 2300, 40)
    ((341, 256), (40, 54))
    """
    if width <= height:
        return shortest, int(shortest * height / width)
    return int(shortest * width / height), shortest


def decode_side(pre: Preprocess) -> int:
    """The shorter side decoding may shrink an image to: ``pre.resize`` when
    ``pre.decode`` is ``fast``, 0 (full size) when it is ``exact``."""
    return pre.resize if pre.decode == "fast" else 0


@functools.lru_cache(maxsize=16)
def _normalise_table(scale: float, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """``(pixel * scale - mean) / std`` in float32 for every 8-bit value, per channel (3 x 256):
    the same float32 operations as computing it per pixel, so the same values.

    >>> _normalise_table(1.0, (127.0,) * 3, (128.0,) * 3)[0, [0, 127, 255]].tolist()
    [-0.9921875, 0.0, 1.0]
    """
    values = np.arange(256, dtype=np.float32)[None, :].repeat(3, axis=0)
    if scale != 1.0:
        values = values * np.float32(scale)
    table = (values - np.asarray(mean, dtype=np.float32)[:, None]) \
        / np.asarray(std, dtype=np.float32)[:, None]
    table.flags.writeable = False
    return table


def prepare(data: bytes, pre: Preprocess, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Image file bytes -> one model input (raises :class:`ImageProblem` per bad image)."""
    img = decode_image(data, min_side=decode_side(pre), max_pixels=max_pixels)
    return to_array(img, pre)


def prepare_pixels(
    pixels: np.ndarray, pre: Preprocess, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Already decoded 8-bit pixels (``H x W x C``, channels grey, BGR or BGRA as Spark's
    image source gives them) -> one model input, through the same resize, crop and
    normalisation as :func:`prepare` (raises :class:`ImageProblem` per bad image)."""
    img = image_from_pixels(pixels, min_side=decode_side(pre), max_pixels=max_pixels)
    return to_array(img, pre)


def prepare_batch(
    items: Iterable[bytes | np.ndarray | Exception], pre: Preprocess, *,
    max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, list[int], dict[int, Exception]]:
    """Prepare many images; returns (stacked inputs, indices that worked, failures by index).

    ``items`` may be a generator that reads each file when it is reached: only one file's
    bytes and one decoded image are then alive at a time.

    An item that is already an exception (the file could not be read) is passed through
    as a failure, so callers keep one list in input order; a numpy array is already
    decoded pixels (:func:`prepare_pixels`).
    """
    arrays: list[np.ndarray] = []
    ok: list[int] = []
    failed: dict[int, Exception] = {}
    for i, data in enumerate(items):
        if isinstance(data, Exception):
            failed[i] = data
            continue
        try:
            if isinstance(data, np.ndarray):
                arrays.append(prepare_pixels(data, pre, max_pixels=max_pixels))
            else:
                arrays.append(prepare(data, pre, max_pixels=max_pixels))
            ok.append(i)
        except Exception as exc:  # noqa: BLE001 - recorded per image, never raised
            failed[i] = exc
    shape = (0, 3, pre.size, pre.size) if pre.layout == "nchw" else (0, pre.size, pre.size, 3)
    batch = np.stack(arrays) if arrays else np.empty(shape, dtype=np.float32)
    return batch, ok, failed
