"""Compare sparkvision's answers over Spark's image source with those over binaryFile.

Every image file under FOLDER is classified twice on a local Spark session: from
``spark.read.format("image")`` (decoded by Java's ImageIO, at full size, no EXIF
orientation) and from ``spark.read.format("binaryFile")`` (decoded by sparkvision: JPEG
draft mode, EXIF orientation). Prints, per model, how many labels agree, the largest
score difference, and the files whose EXIF orientation tag turns the picture.

Usage: python scripts/measure_image_source.py FOLDER [--models catdog,imagenet]
"""

from __future__ import annotations

import argparse
import os
from urllib.parse import unquote, urlparse

from PIL import Image

import sparkvision as sv
from sparkvision.runtime.session import get_session


def name(uri: str) -> str:
    return unquote(urlparse(uri).path)


def orientation(path: str) -> int:
    try:
        with Image.open(path) as img:
            return int(img.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a file PIL cannot open has no orientation to report
        return 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--models", default="catdog,imagenet")
    args = parser.parse_args()
    spark = get_session("local[2]")
    folder = os.path.abspath(args.folder)
    images = (spark.read.format("image").option("recursiveFileLookup", "true")
              .option("dropInvalid", False).load(folder))
    files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(folder)
    turned = [p for p in (name(r["path"]) for r in files.select("path").collect())
              if orientation(p) not in (1, 0)]
    print(f"{files.count()} files; EXIF orientation other than upright: {len(turned)}")
    for model in args.models.split(","):
        ours = {name(r["path"]): r for r in sv.classify(images, model=model).collect()}
        theirs = {name(r["path"]): r for r in sv.classify(files, model=model).collect()}
        both = [p for p in theirs if p in ours and ours[p]["error"] is None
                and theirs[p]["error"] is None]
        agree = sum(ours[p]["label"] == theirs[p]["label"] for p in both)
        diff = max((abs(ours[p]["score"] - theirs[p]["score"]) for p in both), default=0.0)
        failed = sorted(os.path.basename(p) for p in ours if ours[p]["error"] is not None)
        print(f"{model}: labels agree on {agree} of {len(both)} images decoded by both; "
              f"largest score difference {diff:.4f}; image source failed on {failed or 'none'}")
        for p in both:
            if ours[p]["label"] != theirs[p]["label"]:
                print(f"  differs: {os.path.basename(p)}: image source {ours[p]['label']} "
                      f"({ours[p]['score']:.3f}), binaryFile {theirs[p]['label']} "
                      f"({theirs[p]['score']:.3f})")
    spark.stop()


if __name__ == "__main__":
    main()
