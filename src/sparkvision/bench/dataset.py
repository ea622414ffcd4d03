"""A deterministic synthetic image set for benchmarks: ``sparkvision make-dataset``.

File names follow the seed system's data (``cat.K.jpg``, ``dog.K.jpg``, alternating, so
the first ``n`` files of :func:`dataset_paths` are always balanced), and the size mix
follows real photo collections such as the Kaggle dogs-vs-cats set:

========  ==========================================  =============================
share     what                                        why
========  ==========================================  =============================
70 %      about 500x375 (short side 300..500)         the bulk of a photo dump
15 %      small, 64..250 px                           thumbnails, crops
15 %      large, long side 2000..4032 px              phone and camera originals
========  ==========================================  =============================

One image in eight is saved as a progressive JPEG; quality varies from 75 to 95. Pixels
are smooth colour fields with shapes and grain, so files compress like photos (a 500x375
image is 30..80 kB), which matters because decode time follows the compressed size.
The same ``n`` and ``seed`` always give the same bytes.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator

import numpy as np

from sparkvision.errors import ConfigError

MANIFEST = "manifest.csv"
INFO = "_dataset.json"
_GRAIN = 128


def image_name(index: int) -> str:
    """``cat.0.jpg, dog.0.jpg, cat.1.jpg, ...``

    >>> [image_name(i) for i in range(3)]
    ['cat.0.jpg', 'dog.0.jpg', 'cat.1.jpg']
    """
    return f"{'cat' if index % 2 == 0 else 'dog'}.{index // 2}.jpg"


def image_spec(index: int, seed: int) -> dict:
    """Size, quality and progressive flag of image ``index`` (deterministic)."""
    rng = np.random.default_rng([seed, index, 1])
    kind = rng.random()
    if kind < 0.70:
        short, long_ = int(rng.integers(300, 501)), int(rng.integers(400, 501))
        long_ = max(long_, short)
    elif kind < 0.85:
        short = int(rng.integers(64, 200))
        long_ = int(rng.integers(short, 251))
    else:
        long_ = int(rng.integers(2000, 4033))
        short = int(long_ * rng.choice([0.5625, 0.667, 0.75]))
    landscape = rng.random() < 0.7
    width, height = (long_, short) if landscape else (short, long_)
    return {
        "width": width,
        "height": height,
        "quality": int(rng.integers(75, 96)),
        "progressive": bool(rng.random() < 0.125),
    }


def draw(index: int, seed: int, width: int, height: int):
    """A photo-like RGB picture: smooth colour field, a few shapes, fine grain."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng([seed, index, 2])
    # Shapes are drawn and softened on a canvas of at most 500 px, then scaled up.
    factor = min(1.0, 500 / max(width, height))
    w, h = max(8, round(width * factor)), max(8, round(height * factor))
    field = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(field).resize((w, h), Image.Resampling.BICUBIC)
    canvas = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1 = x0 + int(rng.integers(w // 10 + 1, w // 2 + 2))
        y1 = y0 + int(rng.integers(h // 10 + 1, h // 2 + 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (canvas.ellipse if rng.random() < 0.5 else canvas.rectangle)((x0, y0, x1, y1), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(radius=1.5))
    if (w, h) != (width, height):
        img = img.resize((width, height), Image.Resampling.BICUBIC)
    grain = rng.normal(0, 9, size=(_GRAIN, _GRAIN, 3)).astype(np.float32)
    reps = (-(-height // _GRAIN), -(-width // _GRAIN), 1)
    arr = np.asarray(img, dtype=np.float32) + np.tile(grain, reps)[:height, :width]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def make_dataset(n: int, out: str, *, seed: int = 0) -> list[str]:
    """Write ``n`` images into ``out`` (reusing a complete earlier run with the same seed)
    and a ``manifest.csv``; returns the paths in name order (cat.0, dog.0, cat.1, ...).

    >>> import tempfile; d = tempfile.TemporaryDirectory()
    >>> [os.path.basename(p) for p in make_dataset(3, d.name)]
    ['cat.0.jpg', 'dog.0.jpg', 'cat.1.jpg']
    >>> d.cleanup()
    """
    if n < 1:
        raise ConfigError(f"--n must be at least 1; found {n}")
    os.makedirs(out, exist_ok=True)
    info_path = os.path.join(out, INFO)
    existing = _read_info(info_path)
    have = existing["n"] if existing and existing.get("seed") == seed else 0
    if existing and existing.get("seed") != seed:
        raise ConfigError(
            f"'{out}' already holds a data set made with seed {existing.get('seed')}; found "
            f"--seed {seed}. Use another --out, or the same seed"
        )
    paths = [os.path.join(os.path.abspath(out), image_name(i)) for i in range(n)]
    rows = []
    for i, path in enumerate(paths):
        spec = image_spec(i, seed)
        if i >= have or not os.path.isfile(path):
            img = draw(i, seed, spec["width"], spec["height"])
            tmp = path + ".tmp"
            img.save(tmp, "JPEG", quality=spec["quality"], progressive=spec["progressive"],
                     optimize=spec["progressive"])
            os.replace(tmp, path)
        rows.append({"name": image_name(i), **spec, "bytes": os.path.getsize(path)})
    if n >= have:
        with open(os.path.join(out, MANIFEST), "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        with open(info_path, "w", encoding="utf-8") as fh:
            json.dump({"n": n, "seed": seed}, fh)
    return paths


def dataset_paths(folder: str, n: int) -> list[str]:
    """The first ``n`` images of a data set made by :func:`make_dataset`."""
    info = _read_info(os.path.join(folder, INFO))
    if info is None or info["n"] < n:
        found = "no data set" if info is None else f"a data set of {info['n']} images"
        raise ConfigError(
            f"expected a data set of at least {n} images in '{folder}', found {found}. "
            f"Make it with: sparkvision make-dataset --n {n} --out {folder}"
        )
    return [os.path.join(os.path.abspath(folder), image_name(i)) for i in range(n)]


def describe(folder: str) -> dict:
    """Counts of the size classes and progressive files, from the manifest."""
    counts = {"images": 0, "small (<256 px)": 0, "medium": 0, "large (>=2000 px)": 0,
              "progressive": 0, "bytes": 0}
    for row in _manifest_rows(folder):
        side = max(int(row["width"]), int(row["height"]))
        key = "small (<256 px)" if side < 256 else "large (>=2000 px)" if side >= 2000 else "medium"
        counts[key] += 1
        counts["images"] += 1
        counts["progressive"] += row["progressive"] == "True"
        counts["bytes"] += int(row["bytes"])
    return counts


def _manifest_rows(folder: str) -> Iterator[dict]:
    with open(os.path.join(folder, MANIFEST), newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _read_info(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None
