"""Small JPEG thumbnails for report pages, from the same decode the models use.

A thumbnail is the image decoded by :func:`~sparkvision.imaging.decode.decode_image`
(upright, RGB, JPEG draft scaling, the pixel limit) and shrunk so its longer side is at
most :data:`THUMB_SIDE` pixels, saved as a baseline JPEG of a few kilobytes.
"""

from __future__ import annotations

import io

from PIL import Image

from sparkvision.imaging.decode import decode_image

#: Longest side of a thumbnail, pixels.
THUMB_SIDE = 160
#: JPEG quality of a thumbnail: small files, recognisable pictures.
THUMB_QUALITY = 70


def thumbnail_jpeg(data: bytes, *, side: int = THUMB_SIDE, quality: int = THUMB_QUALITY) -> bytes:
    """JPEG bytes of ``data``'s image with its longer side at most ``side`` pixels
    (raises :class:`~sparkvision.imaging.decode.ImageProblem` for a bad image).

    >>> from PIL import Image; import io
    >>> buf = io.BytesIO(); Image.new("RGB", (640, 480), "red").save(buf, "PNG")
    >>> Image.open(io.BytesIO(thumbnail_jpeg(buf.getvalue()))).size
    (160, 120)
    """
    # Decoding at a shorter side of `side` keeps JPEG draft scaling effective: the
    # longer side is then >= side, so the thumbnail below is a true downscale.
    img = decode_image(data, min_side=side)
    img.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()
