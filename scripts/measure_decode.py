"""Measure JPEG decoding: Pillow in draft mode (what sparkvision does) against simplejpeg
(libjpeg-turbo's TurboJPEG API, straight into a numpy array) at the same DCT scale.

For every JPEG in each FOLDER, both paths decode with the shorter side kept >= 256 (the
built-in model's resize), then the image is preprocessed as the built-in model needs.
The simplejpeg path reads the header and EXIF with Pillow exactly as sparkvision does
(so the pixel limit and the error kinds could not change) and only swaps the pixel
decoding. Prints, per folder: whether the decoded pixels are identical, the largest
difference of the model inputs, and ms/image (best of --repeat passes, wall and CPU
time) for decode alone and for decode + preprocess, and the same for two variants that
are not identical: simplejpeg's ``fastdct`` + ``fastupsample`` flags, and any of
libjpeg-turbo's M/8 scales (not only 1/2, 1/4, 1/8).

Needs ``pip install simplejpeg``; PyTurboJPEG is measured too where it is installed with
the system's libturbojpeg (``pyturbojpeg<2`` for libjpeg-turbo 2.x).

Usage: python scripts/measure_decode.py FOLDER [FOLDER ...] [--repeat N]
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from sparkvision.config import Preprocess
from sparkvision.imaging import decode_image, to_array
from sparkvision.imaging.decode import _ORIENT, to_rgb

MIN_SIDE = 256


def draft_scale(width: int, height: int, min_side: int) -> int:
    """The scale Pillow's ``draft`` picks: the largest of 8, 4, 2, 1 not above the
    smaller of ``width // min_side`` and ``height // min_side``."""
    room = min(width // min_side, height // min_side)
    return next((s for s in (8, 4, 2) if room >= s), 1)


def simplejpeg_decode(data: bytes, min_side: int, fast: bool = False,
                      any_scale: bool = False) -> Image.Image:
    """Header and EXIF by Pillow, pixels by simplejpeg at Pillow's draft scale (or, with
    ``any_scale``, at the smallest of libjpeg-turbo's M/8 scales that keeps ``min_side``)."""
    import simplejpeg

    img = Image.open(io.BytesIO(data))
    orientation = int(img.getexif().get(0x0112, 1))
    if img.format != "JPEG" or img.mode != "RGB":
        return decode_image(data, min_side=min_side)
    scale = draft_scale(*img.size, min_side) if min_side else 1
    width, height = -(-img.size[0] // scale), -(-img.size[1] // scale)
    if any_scale:
        width, height, scale = min_side, min_side, 1
    arr = simplejpeg.decode_jpeg(data, "RGB", fastdct=fast, fastupsample=fast,
                                 min_height=height, min_width=width, min_factor=scale)
    out = Image.fromarray(arr)
    factor = min(out.size) // min_side if min_side else 1
    if factor >= 2:
        out = out.reduce(factor)
    if orientation in _ORIENT:
        out = out.transpose(_ORIENT[orientation])
    return to_rgb(out)


@lru_cache(maxsize=1)
def _turbojpeg():
    from turbojpeg import TurboJPEG

    return TurboJPEG()


def pyturbojpeg_decode(data: bytes, min_side: int) -> Image.Image:
    """As :func:`simplejpeg_decode`, with PyTurboJPEG (and the system's libturbojpeg)."""
    from turbojpeg import TJPF_RGB

    img = Image.open(io.BytesIO(data))
    orientation = int(img.getexif().get(0x0112, 1))
    if img.format != "JPEG" or img.mode != "RGB":
        return decode_image(data, min_side=min_side)
    scale = draft_scale(*img.size, min_side) if min_side else 1
    out = Image.fromarray(_turbojpeg().decode(data, TJPF_RGB, scaling_factor=(1, scale)))
    factor = min(out.size) // min_side if min_side else 1
    if factor >= 2:
        out = out.reduce(factor)
    if orientation in _ORIENT:
        out = out.transpose(_ORIENT[orientation])
    return to_rgb(out)


def _time(fn: Callable[[bytes], object], datas: list[bytes], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        for data in datas:
            fn(data)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls) / len(datas) * 1e3, min(cpus) / len(datas) * 1e3


def measure(folder: str, repeat: int) -> None:
    files = sorted(glob.glob(os.path.join(folder, "**", "*.jp*g"), recursive=True))
    datas = [Path(f).read_bytes() for f in files]
    pre = Preprocess()
    paths = {
        "pillow draft": lambda d: decode_image(d, min_side=MIN_SIDE),
        "simplejpeg": lambda d: simplejpeg_decode(d, MIN_SIDE),
        "simplejpeg fast flags": lambda d: simplejpeg_decode(d, MIN_SIDE, fast=True),
        "simplejpeg any M/8": lambda d: simplejpeg_decode(d, MIN_SIDE, any_scale=True),
    }
    try:
        _turbojpeg()
        paths["pyturbojpeg"] = lambda d: pyturbojpeg_decode(d, MIN_SIDE)
    except (ImportError, OSError, RuntimeError) as exc:
        print(f"(PyTurboJPEG not measured: {exc})")
    reference = [paths["pillow draft"](d) for d in datas]
    print(f"{folder}: {len(datas)} JPEGs")
    for name, decode in paths.items():
        images = [decode(d) for d in datas]
        same = sum(a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))
                   for a, b in zip(images, reference, strict=True))
        diff = max(float(np.abs(to_array(a, pre) - to_array(b, pre)).max())
                   for a, b in zip(images, reference, strict=True))
        dec = _time(decode, datas, repeat)
        full = _time(lambda d, decode=decode: to_array(decode(d), pre), datas, repeat)
        print(f"  {name:22s} identical pixels {same}/{len(datas)}, max input diff {diff:.4f}; "
              f"decode {dec[0]:.2f} ms (CPU {dec[1]:.2f}), "
              f"decode+preprocess {full[0]:.2f} ms (CPU {full[1]:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for folder in args.folders:
        measure(folder, args.repeat)


if __name__ == "__main__":
    main()
