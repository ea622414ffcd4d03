"""The images an ``int8`` model is calibrated on (docs/models.md, "int8").

Static quantization measures the range of every activation on sample inputs, once, on
the driver. Two sources:

- **the built-in set** (the default for the built-in models): the five everyday
  photographs that scikit-image ships inside its wheel (public domain or CC0, listed in
  :data:`BUILTIN_PHOTOS`; none is downloaded), each cut into :data:`CROPS_PER_PHOTO`
  deterministic crops (the whole photo, then random boxes of 30-100 % of its area, some
  mirrored): 100 images. Its other bundled images (a deep-sky field, a retina, a
  micrograph, textures) were left out: with min/max ranges their extremes cost accuracy
  on photos (docs/models.md, "int8"). Needs scikit-image (``pip install
  'sparkvision[int8]'``);
- **your photos** (``--calibrate PHOTOS``, ``calibrate=``): folders, globs, image files
  or list files, as for the inputs; the first :data:`DEFAULT_LIMIT` in sorted order.

A :class:`Calibration` carries a digest of what decides its images (the photos' bytes
and the crop recipe), which keys the cache of quantized files.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from sparkvision.errors import ConfigError, MissingExtraError
from sparkvision.options import ModelRequest
from sparkvision.storage.files import file_sha256

#: scikit-image's bundled photos used for the built-in set: (file in skimage/data, licence)
BUILTIN_PHOTOS: tuple[tuple[str, str], ...] = (
    ("astronaut.png", "public domain (NASA)"),
    ("chelsea.png", "CC0 (Stefan van der Walt)"),
    ("coffee.png", "CC0 (Rachel Michetti)"),
    ("rocket.jpg", "public domain (SpaceX)"),
    ("camera.png", "CC0 (Lav Varshney)"),
)
CROPS_PER_PHOTO = 20
#: at most this many of the user's calibration images are used
DEFAULT_LIMIT = 100
#: bump when the crop recipe changes: it is part of the cache key
_RECIPE = "crops-v1"


@dataclass(frozen=True)
class Calibration:
    """Calibration images: ``images()`` yields each one's encoded bytes."""

    description: str
    digest: str
    count: int
    images: Callable[[], Iterator[bytes]]


def builtin_calibration() -> Calibration:
    """The built-in set (see module docstring)."""
    files = _skimage_photos()
    digest = hashlib.sha256(f"{_RECIPE}:{CROPS_PER_PHOTO}".encode())
    for path in files:
        digest.update(file_sha256(path).encode())
    count = len(files) * CROPS_PER_PHOTO

    def images() -> Iterator[bytes]:
        for i, path in enumerate(files):
            yield from _crops(path, seed=i)

    return Calibration(
        f"the built-in calibration set ({count} crops of {len(files)} photos that "
        "scikit-image ships)", digest.hexdigest(), count, images)


def user_calibration(inputs: str | os.PathLike[str] | Sequence[str],
                     limit: int = DEFAULT_LIMIT, *, what: str = "`calibrate`") -> Calibration:
    """The first ``limit`` images of ``inputs`` (folders, globs, files, list files)."""
    from sparkvision.errors import InputError
    from sparkvision.storage.listing import resolve_inputs
    from sparkvision.storage.reader import read_image_bytes

    items = [os.fspath(inputs)] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    try:
        paths = sorted(resolve_inputs(items))[:limit]
    except InputError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    digest = hashlib.sha256(b"files-v1")
    for path in paths:
        digest.update(hashlib.sha256(read_image_bytes(path)).hexdigest().encode())

    def images() -> Iterator[bytes]:
        for path in paths:
            yield read_image_bytes(path)

    shown = items[0] if len(items) == 1 else f"{len(items)} inputs"
    return Calibration(f"{len(paths)} images of {shown}", digest.hexdigest(), len(paths),
                       images)


def _skimage_photos() -> list[str]:
    try:
        import skimage
    except ImportError:
        raise MissingExtraError("scikit-image", "int8",
                                "int8 with the built-in calibration set") from None
    folder = os.path.join(os.path.dirname(skimage.__file__), "data")
    files = [os.path.join(folder, name) for name, _ in BUILTIN_PHOTOS]
    missing = [os.path.basename(f) for f in files if not os.path.isfile(f)]
    if missing:
        raise ConfigError(
            f"scikit-image {getattr(skimage, '__version__', '')} in {folder} lacks the "
            f"calibration photos {', '.join(missing)}; reinstall scikit-image>=0.22, or "
            "pass `calibrate` PHOTOS"
        )
    return files


def _crops(path: str, *, seed: int) -> Iterator[bytes]:
    """The whole photo, then ``CROPS_PER_PHOTO - 1`` random boxes (30-100 % of the area,
    aspect 3:4 to 4:3, mirrored half of the time), each as PNG bytes."""
    from PIL import Image, ImageOps

    rng = np.random.default_rng(seed)
    with Image.open(path) as img:
        photo = img.convert("RGB")
    w, h = photo.size
    for k in range(CROPS_PER_PHOTO):
        crop = photo
        if k:
            area = rng.uniform(0.3, 1.0) * w * h
            aspect = float(np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3))))
            cw = int(min(w, round(np.sqrt(area * aspect))))
            ch = int(min(h, round(np.sqrt(area / aspect))))
            x0 = int(rng.integers(0, w - cw + 1))
            y0 = int(rng.integers(0, h - ch + 1))
            crop = photo.crop((x0, y0, x0 + cw, y0 + ch))
            if rng.random() < 0.5:
                crop = ImageOps.mirror(crop)
        buf = io.BytesIO()
        crop.save(buf, "PNG", compress_level=1)
        yield buf.getvalue()


def first_inputs_by_default(request: ModelRequest, paths: Sequence[str]) -> ModelRequest:
    """``request`` calibrated on the first :data:`DEFAULT_LIMIT` of ``paths`` when it asks
    for int8 on a user's model without ``calibrate`` (said on stderr); else unchanged."""
    import sparkvision.models.builtin.catalog as builtin

    options = request.options
    if (options.precision != "int8" or options.calibrate is not None
            or builtin.is_builtin(request.model) or not isinstance(request.model, str)):
        return request
    chosen = list(paths[:DEFAULT_LIMIT])
    print(f"sparkvision: int8: calibrating {request.model} on the first {len(chosen)} of "
          f"the {len(paths)} inputs (choose the photos with --calibrate PHOTOS, or "
          "calibrate= in Python)", file=sys.stderr)
    return request.with_(options=options.with_(calibrate=chosen))
