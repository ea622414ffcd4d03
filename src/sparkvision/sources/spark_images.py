"""Spark's image source: ``spark.read.format("image").load(dir)``.

Spark decodes every file with Java's ImageIO and gives one struct column ``image``:
``origin`` (the file's URI), ``height``, ``width``, ``nChannels``, ``mode`` (an OpenCV
type code) and ``data``, the pixels row by row with channels in BGR(A) order. A file it
cannot decode is dropped, or, with ``option("dropInvalid", False)``, kept as a row with
height and width -1 and no data.

On the driver, :func:`is_image_struct` and :func:`image_column` recognise such a column;
on the workers, :func:`image_items` turns a batch of it (a pandas DataFrame, as the Arrow
UDFs receive struct columns) into the executor's items: a numpy array of pixels per
image, or an :class:`ImageProblem` for a row without usable pixels, which becomes that
row's ``error``/``error_kind``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from sparkvision.errors import ImageProblem

#: The fields of Spark's image struct (pyspark.ml.image.ImageSchema.columnSchema).
IMAGE_FIELDS = ("origin", "height", "width", "nChannels", "mode", "data")
#: OpenCV type code -> channels, for the 8-bit types Spark's decoder writes.
OCV_8U_CHANNELS = {0: 1, 16: 3, 24: 4}


def is_image_struct(data_type: Any) -> bool:
    """True for a struct with the image source's fields (``data`` binary)."""
    from pyspark.sql.types import BinaryType, StructType

    if not isinstance(data_type, StructType):
        return False
    types = {f.name: f.dataType for f in data_type.fields}
    return all(name in types for name in IMAGE_FIELDS) and isinstance(types["data"], BinaryType)


def image_column(types: Mapping[str, Any]) -> str | None:
    """The image struct column among ``types`` (name -> Spark type): ``image`` first."""
    names = sorted(types, key=lambda name: name != "image")
    return next((name for name in names if is_image_struct(types[name])), None)


def image_items(batch: Any) -> list[np.ndarray | ImageProblem]:
    """A pandas DataFrame of image structs (one column per field) -> one item per row."""
    missing = [name for name in IMAGE_FIELDS if name not in batch.columns]
    if missing:  # a struct of another kind, passed to predict_udf
        problem = ImageProblem(
            "bad_input", f"expected Spark's image struct ({', '.join(IMAGE_FIELDS)}) or a "
            f"binary or path column; found a struct of {', '.join(map(str, batch.columns))}")
        return [problem] * len(batch)
    columns = [batch[name].tolist() for name in IMAGE_FIELDS]
    return [pixels(*row) for row in zip(*columns, strict=True)]


def row_item(value: Any) -> np.ndarray | ImageProblem:
    """One image struct as a row UDF receives it (a ``Row``, or None)."""
    if value is None:
        return pixels(None, None, None, None, None, None)
    fields = value.asDict() if hasattr(value, "asDict") else dict(value)
    return pixels(*(fields.get(name) for name in IMAGE_FIELDS))


def pixels(origin: Any, height: Any, width: Any, channels: Any, mode: Any,
           data: Any) -> np.ndarray | ImageProblem:
    """One image struct's fields -> its ``height x width x channels`` uint8 pixels (a view
    of ``data``, not a copy), or the :class:`ImageProblem` saying why there are none."""
    height, width, channels, mode = (_int(v) for v in (height, width, channels, mode))
    data = data if isinstance(data, (bytes, bytearray, memoryview)) else None
    name = f"'{origin}'" if isinstance(origin, str) and origin else "this row"
    if data is None and height is None:
        return ImageProblem("missing", "no image in this row: the image column is null")
    if not data or height is None or width is None or height <= 0 or width <= 0:
        return ImageProblem(
            "decode_failed",
            f"Spark's image source could not decode {name}: its row has no pixels "
            f"(height {height}, width {width}, {len(data or b'')} bytes). Not an image, a "
            "truncated file, or a format Java's ImageIO cannot read (WebP, for one); load "
            "the files with spark.read.format('binaryFile') to decode them with PIL",
        )
    if OCV_8U_CHANNELS.get(mode) != channels:
        return ImageProblem(
            "bad_input",
            f"{name} has mode {mode} with {channels} channels; expected 8-bit pixels as "
            "Spark's image source writes them: OpenCV type 0 (CV_8UC1, 1 channel), "
            "16 (CV_8UC3, BGR) or 24 (CV_8UC4, BGRA)",
        )
    expected = height * width * channels
    if len(data) != expected:
        return ImageProblem(
            "bad_input",
            f"{name} says {width}x{height} pixels x {channels} channels = {expected:,} bytes "
            f"but holds {len(data):,} bytes of data",
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width, channels)


def _int(value: Any) -> int | None:
    """An int field as pandas gives it (a null may be None, NaN or ``pd.NA``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):  # pd.NA and other missing markers
        return None
