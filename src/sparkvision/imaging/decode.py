"""Bytes -> an upright RGB ``PIL.Image``, safely and in bounded memory.

- With ``min_side`` > 0 (the ``fast`` decode mode) JPEGs are decoded in draft mode:
  libjpeg scales by 1/2, 1/4 or 1/8 while decoding, to the smallest scale that still leaves
  the shorter side at least ``min_side`` pixels. A 4000 px photo needed for a 256 px resize
  is decoded at 1/8 scale, about 3x faster, with the same prediction. ``min_side=0`` (the
  ``exact`` mode) decodes every image at full size and never shrinks it.
- Other formats cannot decode at a smaller scale, so a large decoded image is shrunk at
  once by an integer box filter (``Image.reduce``) to a shorter side of at least
  ``min_side``, before any mode conversion: an 8000x6000 RGBA PNG costs one decoded copy
  (192 MB), not the four that compositing it at full size would.
- EXIF orientation is applied, so a photo taken sideways is seen upright.
- Any PIL mode becomes 8-bit RGB: 16-bit and float images are rescaled, not clipped;
  transparent images are composited on white; palette, CMYK, 1-bit and grey are converted.
  Animated images give their first frame.
- Images whose decoded size would exceed ``max_pixels`` are refused from their header,
  before any pixel is allocated (decompression bombs), and every failure is an
  :class:`ImageProblem` with a short ``kind``.
"""

from __future__ import annotations

import io
import warnings
from typing import IO

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from sparkvision.errors import ImageProblem

#: Default pixel limit on the decoded image (after JPEG draft scaling): 10x the 12 MP of a
#: typical phone photo. Beyond it, refuse: an RGBA image this size is already 480 MB.
DEFAULT_MAX_PIXELS = 120_000_000

#: Modes ``Image.reduce`` averages correctly (palette indices must not be averaged).
_REDUCIBLE = frozenset({"L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr", "I", "F"})

#: EXIF orientation -> the transpose that makes the image upright.
_ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def decode_image(
    data: bytes, *, min_side: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """Decode ``data`` into an upright RGB image whose shorter side is >= ``min_side``
    (unless the original is smaller).

    >>> from PIL import Image; import io
    >>> buf = io.BytesIO(); Image.new("L", (64, 48)).save(buf, "PNG")
    >>> decode_image(buf.getvalue()).mode
    'RGB'
    """
    if not data:
        raise ImageProblem("empty", "the file is empty (0 bytes); expected image data")
    with warnings.catch_warnings():
        # Our own pixel limit below replaces PIL's bomb warning.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img: Image.Image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageProblem("not_an_image", _not_an_image_message(data)) from None
        except Image.DecompressionBombError as exc:
            raise ImageProblem(
                "too_large", f"refused to decode a possible decompression bomb: {exc}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - any parser failure is a per-image problem
            raise ImageProblem("decode_failed", f"could not open image: {exc}") from None

        try:
            orientation = int(img.getexif().get(0x0112, 1))
        except Exception:  # noqa: BLE001 - broken EXIF must not cost the image
            orientation = 1
        _draft(img, min_side)
        width, height = img.size  # after draft: the size that will really be allocated
        if width * height > max_pixels:
            raise ImageProblem(
                "too_large",
                f"image decodes to {width}x{height} = {width * height:,} pixels, above the "
                f"limit of {max_pixels:,}; refused to decode it (a decompression bomb, or a "
                "scan larger than this job allows: raise max_pixels if it is intended)",
            )
        try:
            img.load()
        except OSError as exc:
            kind = "truncated" if "truncated" in str(exc).lower() else "decode_failed"
            raise ImageProblem(kind, f"could not decode image: {exc}") from None
        except Exception as exc:  # noqa: BLE001
            raise ImageProblem("decode_failed", f"could not decode image: {exc}") from None

    if min_side > 0:
        img = shrink(img, min_side)
    if orientation in _ORIENT:
        img = img.transpose(_ORIENT[orientation])
    return to_rgb(img)


def _draft(img: Image.Image, min_side: int) -> None:
    """Have a JPEG decoded at the smallest 1/2, 1/4 or 1/8 scale that keeps its shorter
    side at least ``min_side`` (nothing for other formats or ``min_side=0``); ``img.size``
    then says the size decoding will allocate."""
    if img.format == "JPEG" and min_side > 0 and img.mode in ("RGB", "L", "CMYK", "YCbCr"):
        img.draft(img.mode if img.mode != "YCbCr" else "RGB", (min_side, min_side))


#: What decoding a file costs, in nanoseconds on the 2-core machine of docs/benchmarks.md,
#: per compressed byte, per decoded pixel (after JPEG draft scaling) and per byte more for
#: a progressive JPEG: a least-squares fit over 2,000 JPEGs of the bench's mix (correlation
#: 0.995 with the measured times; the file size alone: 0.80). Only the ratios matter:
#: they weigh files against each other.
COST_PER_BYTE, COST_PER_PIXEL, COST_PER_PROGRESSIVE_BYTE = 9, 9, 27


def decode_cost(fp: IO[bytes], size: int, *, min_side: int = 0) -> int:
    """About what decoding the image file ``fp`` (``size`` bytes) costs, in nanoseconds,
    read from its header alone: no pixel is decoded. A file PIL cannot open costs its
    bytes (it fails fast in the workers too).

    >>> from PIL import Image; import io
    >>> buf = io.BytesIO(); Image.new("RGB", (4000, 3000)).save(buf, "JPEG")
    >>> small = decode_cost(buf, 1, min_side=256); full = decode_cost(buf, 1)
    >>> (small, full)  # 1/8 scale: 500 x 375 pixels decoded, against 4000 x 3000
    (1687509, 108000009)
    """
    try:
        frame = jpeg_frame(fp)
        if frame is not None:  # the common case, without PIL's full parse (5x faster)
            width, height, progressive = frame
            scale = _draft_scale(width, height, min_side)
            width, height = -(-width // scale), -(-height // scale)
        else:
            fp.seek(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(fp)
                progressive = img.format == "JPEG" and bool(img.info.get("progressive"))
                _draft(img, min_side)
                width, height = img.size
    except Exception:  # noqa: BLE001 - an estimate: the decode itself reports the problem
        return COST_PER_BYTE * size
    per_byte = COST_PER_BYTE + (COST_PER_PROGRESSIVE_BYTE if progressive else 0)
    return per_byte * size + COST_PER_PIXEL * width * height


#: start-of-frame markers (SOF0..SOF15 less DHT, JPG and DAC), and the progressive ones
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})


def jpeg_frame(fp: IO[bytes]) -> tuple[int, int, bool] | None:
    """``(width, height, progressive)`` from a JPEG's frame header, reading only the
    segments before it (EXIF and its thumbnail are skipped, not read); None for anything
    else, or a header this does not follow (PIL then reads it).

    >>> from PIL import Image; import io
    >>> buf = io.BytesIO(); Image.new("RGB", (640, 480)).save(buf, "JPEG", progressive=True)
    >>> _ = buf.seek(0); jpeg_frame(buf)
    (640, 480, True)
    """
    if fp.read(2) != b"\xff\xd8":
        return None
    while True:
        head = fp.read(4)
        if len(head) < 4 or head[0] != 0xFF:
            return None
        if head[1] == 0xFF:  # a fill byte before the marker
            fp.seek(-3, 1)
            continue
        if head[1] in _SOF:
            body = fp.read(5)  # precision, height, width
            height, width = int.from_bytes(body[1:3], "big"), int.from_bytes(body[3:5], "big")
            return (width, height, head[1] in _PROGRESSIVE) if len(body) == 5 and height else None
        if not 0xC0 <= head[1] <= 0xFE or head[1] in (0xD9, 0xDA):  # no length, or no frame
            return None
        fp.seek(int.from_bytes(head[2:4], "big") - 2, 1)


def _draft_scale(width: int, height: int, min_side: int) -> int:
    """The 1, 2, 4 or 8 that :func:`_draft` has PIL decode a ``width`` x ``height`` JPEG at:
    the largest that keeps both sides at least ``min_side`` (1 for ``min_side=0``)."""
    if min_side <= 0:
        return 1
    room = min(width // min_side, height // min_side)
    return next(s for s in (8, 4, 2, 1) if room >= s or s == 1)


def image_from_pixels(
    pixels: np.ndarray, *, min_side: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """Already decoded pixels -> an RGB image whose shorter side is >= ``min_side``.

    ``pixels`` is 8-bit ``H x W`` or ``H x W x C`` with C = 1 (grey), 3 (BGR) or 4 (BGRA),
    the channel order of Spark's image source and OpenCV. After the channels are put in
    RGB order the image takes the same steps as a decoded non-JPEG file: an integer
    ``shrink`` towards ``min_side``, then ``to_rgb`` (transparency composited on white),
    so a PNG gives the same pixels either way. There is no EXIF to apply here.
    """
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ImageProblem(
            "bad_input", f"expected 8-bit pixels of shape height x width x 1, 3 or 4 "
            f"channels; found {arr.dtype} of shape {arr.shape}"
        )
    height, width, channels = arr.shape
    if height * width == 0:
        raise ImageProblem("empty", f"the image has no pixels ({width}x{height})")
    if height * width > max_pixels:
        raise ImageProblem(
            "too_large", f"image is {width}x{height} = {width * height:,} pixels, above the "
            f"limit of {max_pixels:,}; raise max_pixels if it is intended"
        )
    if channels == 1:
        img = Image.fromarray(np.ascontiguousarray(arr[:, :, 0]), "L")
    else:
        order = [2, 1, 0, 3][:channels]  # BGR(A) -> RGB(A)
        img = Image.fromarray(np.ascontiguousarray(arr[:, :, order]),
                              "RGB" if channels == 3 else "RGBA")
    if min_side > 0:
        img = shrink(img, min_side)
    return to_rgb(img)


def shrink(img: Image.Image, min_side: int) -> Image.Image:
    """Reduce ``img`` by the largest integer factor that keeps its shorter side at least
    ``min_side`` (a no-op for images less than twice that size)."""
    factor = min(img.size) // min_side
    if factor < 2:
        return img
    if img.mode.startswith("I;16"):
        img = _sixteen_to_8bit(img)
    elif img.mode not in _REDUCIBLE:
        transparent = "transparency" in img.info or img.mode in ("PA", "LA")
        img = img.convert("RGBA" if transparent else "RGB")
    return img.reduce(factor)


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I;16"):
        return _sixteen_to_8bit(img).convert("RGB")
    if mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        grey = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
        return grey.convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _sixteen_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit grey -> 8-bit grey (value / 257, rounded), a block of rows at a time so a
    large scan needs no full-size float copy."""
    arr = np.asarray(img)
    out = np.empty(arr.shape, dtype=np.uint8)
    step = max(1, (1 << 22) // max(1, arr.shape[1]))
    for top in range(0, arr.shape[0], step):
        block = arr[top : top + step].astype(np.float32)
        out[top : top + step] = np.clip(block / 257.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(out)


def _not_an_image_message(data: bytes) -> str:
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        found = "HTML/XML text"
    elif all(32 <= b < 127 or b in (9, 10, 13) for b in data[:256]):
        found = "plain text"
    else:
        found = f"unknown binary data starting with {data[:8].hex()}"
    return (
        f"not a supported image: found {found}; expected JPEG, PNG, GIF, BMP, WebP or TIFF "
        f"data. Check the file's real type"
    )


# Truncated files raise instead of being padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
