"""Images the tests draw themselves (no data set is downloaded or shipped)."""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image, ImageDraw


def drawn_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A deterministic RGB picture: a gradient background with a few shapes."""
    rng = np.random.default_rng(seed)
    w, h = size
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    base = rng.uniform(0, 255, 3).astype(np.float32)
    arr = np.clip(base * (0.5 + 0.5 * x) + 80 * y, 0, 255).astype(np.uint8)
    img = Image.fromarray(np.broadcast_to(arr, (h, w, 3)).copy())
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=color)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=color)
    return img


def encode(img: Image.Image, fmt: str = "JPEG", **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def write_images(folder: str, names: list[str], *, size=(320, 240), seed: int = 0) -> list[str]:
    """Draw one image per name into ``folder`` (format from the extension)."""
    paths = []
    for i, name in enumerate(names):
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        img = drawn_image(seed + i, size)
        ext = os.path.splitext(name)[1].lower()
        fmt = {".png": "PNG", ".bmp": "BMP", ".gif": "GIF", ".webp": "WEBP",
               ".tif": "TIFF", ".tiff": "TIFF"}.get(ext, "JPEG")
        img.save(path, fmt)
        paths.append(os.path.abspath(path))
    return paths


#: visually distinct synthetic classes for training tests
PATTERNS = ("stripes", "checks", "rings")


def pattern_image(kind: str, seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A picture of one of :data:`PATTERNS`, with random colours, scale and offset."""
    rng = np.random.default_rng(seed)
    w, h = size
    period = float(rng.uniform(10, 24))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx += rng.uniform(0, period)
    yy += rng.uniform(0, period)
    if kind == "stripes":
        mask = (yy // period) % 2 == 0
    elif kind == "checks":
        mask = ((xx // period) + (yy // period)) % 2 == 0
    elif kind == "rings":
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        mask = (np.hypot(xx - cx, yy - cy) // period) % 2 == 0
    else:
        raise ValueError(f"unknown pattern {kind!r}; expected one of {PATTERNS}")
    # the background differs from the foreground by 96..159 in every channel (mod 256), so no
    # draw is a near-blank picture that no classifier could place
    fg = rng.integers(0, 256, 3)
    bg = (fg + rng.integers(96, 160, 3)) % 256
    arr = np.where(mask[..., None], fg, bg).astype(np.uint8)
    return Image.fromarray(arr)


def write_patterns(folder: str, per_class: int, *, seed: int = 0) -> list[str]:
    """``folder/<pattern>/<pattern>.<i>.jpg`` for every pattern."""
    paths = []
    for c, kind in enumerate(PATTERNS):
        for i in range(per_class):
            path = os.path.join(folder, kind, f"{kind}.{i}.jpg")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            pattern_image(kind, seed + 1000 * c + i).save(path, "JPEG", quality=90)
            paths.append(os.path.abspath(path))
    return paths


#: where :func:`fixed_patterns` keeps its folders: the same absolute paths on every run and
#: every machine (a training split deals photos by a hash of the path, so a path under a
#: fresh temporary folder would split differently on each run)
FIXED_ROOT = "/tmp/sparkvision-test-data"


def fixed_patterns(name: str, per_class: int, *, seed: int = 0,
                   broken: tuple[str, ...] = ()) -> str:
    """``FIXED_ROOT/NAME/<pattern>/<pattern>.<i>.jpg``, as :func:`write_patterns` draws them,
    plus a not-a-JPEG file at each ``broken`` name (relative to that folder); returns the
    folder. The bytes are checked on each call and the folder redrawn when any differ, under a
    lock, so runs on one machine at the same time share it safely."""
    import fcntl
    import hashlib
    import shutil
    import tempfile

    folder = os.path.join(FIXED_ROOT, name)
    os.makedirs(FIXED_ROOT, exist_ok=True)
    with open(folder + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        staging = tempfile.mkdtemp(dir=FIXED_ROOT, prefix=f".{name}-")
        try:
            write_patterns(staging, per_class, seed=seed)
            for rel in broken:
                with open(os.path.join(staging, rel), "wb") as fh:
                    fh.write(b"\xff\xd8 not a jpeg")

            def digest(root: str) -> dict[str, str]:
                out = {}
                for dirpath, _, files in os.walk(root):
                    for f in files:
                        path = os.path.join(dirpath, f)
                        with open(path, "rb") as fh:
                            out[os.path.relpath(path, root)] = hashlib.sha256(
                                fh.read()).hexdigest()
                return out

            if not os.path.isdir(folder) or digest(folder) != digest(staging):
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder
