"""A labelled near-duplicate set made from any folder of photos, to measure ``dedup``.

For every source photo ``S`` (decoded upright by :func:`sparkvision.imaging.decode_image`)
the set holds one *family* of files that are all duplicates of each other:

================  ==========================================================================
``original``      the source file's own bytes
``copy``          the same bytes again (an exact duplicate)
``resized``       scaled to half its width and height, JPEG quality 90
``recompressed``  full size, JPEG quality 30
``cropped``       5 % of the width and 5 % of the height cut off (split between the sides)
``brighter``      brightness raised by 12 %, JPEG quality 90
``exif_rotated``  pixels stored turned by 90 degrees with an EXIF tag that turns them back
================  ==========================================================================

and one *other shot of the same subject*, a family of its own (so a pair made of it and a
file of ``S``'s family is a wrong match): the left half of the scene, as a second, narrower
photo taken closer to the subject would frame it. The
other source photos are distinct photos too; in a folder of cats they show the same kind
of subject.

``truth.csv`` lists ``path, family, variant`` for every file written; precision and
recall of a grouping against it are computed by :mod:`sparkvision.dedup.evaluate`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageEnhance

from sparkvision.imaging import decode_image
from sparkvision.sources import resolve_inputs

TRUTH = "truth.csv"
VARIANTS: tuple[str, ...] = (
    "original", "copy", "resized", "recompressed", "cropped", "brighter", "exif_rotated",
)
OTHER_SHOT = "other_shot"


def make_near_duplicate_set(sources: Sequence[str] | str, out: str, *, limit: int | None = None,
                            seed: int = 0) -> list[dict[str, str]]:
    """Write the families of the photos in ``sources`` (folders, globs, files) into ``out``
    and ``out/truth.csv``; returns the truth rows. ``limit`` takes the first N photos."""
    paths = resolve_inputs(sources)[: limit or None]
    os.makedirs(out, exist_ok=True)
    rows: list[dict[str, str]] = []
    rng = np.random.default_rng(seed)
    for index, source in enumerate(paths):
        with open(source, "rb") as fh:
            data = fh.read()
        try:
            img = decode_image(data)
        except Exception:  # noqa: BLE001 - a source that is not an image is left out
            continue
        family = f"s{index:05d}"
        files = write_family(data, img, os.path.join(out, family), rng)
        rows.extend({"path": p, "family": family, "variant": v} for v, p in files.items())
        shot = other_shot(img).convert("RGB")
        shot_path = os.path.join(out, f"{family}-{OTHER_SHOT}.jpg")
        shot.save(shot_path, "JPEG", quality=90)
        rows.append({"path": shot_path, "family": f"{family}-shot", "variant": OTHER_SHOT})
    with open(os.path.join(out, TRUTH), "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "family", "variant"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


def write_family(data: bytes, img: Image.Image, stem: str,
                 rng: np.random.Generator) -> dict[str, str]:
    """Write the seven files of one family as ``STEM-<variant>.<ext>``; variant -> path."""
    ext = _extension(data)
    out = {"original": f"{stem}-original{ext}", "copy": f"{stem}-copy{ext}"}
    for name in ("original", "copy"):
        with open(out[name], "wb") as fh:
            fh.write(data)
    width, height = img.size
    made = {
        "resized": (img.resize((max(1, width // 2), max(1, height // 2)),
                               Image.Resampling.LANCZOS), 90),
        "recompressed": (img, 30),
        "cropped": (crop_5_percent(img, rng), 90),
        "brighter": (ImageEnhance.Brightness(img).enhance(1.12), 90),
    }
    for name, (picture, quality) in made.items():
        out[name] = f"{stem}-{name}.jpg"
        picture.save(out[name], "JPEG", quality=quality)
    out["exif_rotated"] = f"{stem}-exif_rotated.jpg"
    with open(out["exif_rotated"], "wb") as fh:
        fh.write(exif_rotated(img))
    return out


def crop_5_percent(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """``img`` with 5 % of its width and height cut off, a random share from each side."""
    width, height = img.size
    cut_w, cut_h = round(width * 0.05), round(height * 0.05)
    left, top = int(rng.integers(0, cut_w + 1)), int(rng.integers(0, cut_h + 1))
    return img.crop((left, top, left + width - cut_w, top + height - cut_h))


def exif_rotated(img: Image.Image) -> bytes:
    """JPEG bytes holding ``img`` turned 90 degrees counter-clockwise, with EXIF
    orientation 6 ("rotate 90 clockwise to view"): upright again once decoded."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()


def other_shot(img: Image.Image) -> Image.Image:
    """Another framing of the same scene: its left half."""
    width, height = img.size
    return img.crop((0, 0, max(1, width // 2), height))


def _extension(data: bytes) -> str:
    fmt = Image.open(io.BytesIO(data)).format or "JPEG"
    return {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp",
            "TIFF": ".tif"}.get(fmt, ".img")
