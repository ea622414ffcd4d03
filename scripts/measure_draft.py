"""Measure what JPEG draft-mode decoding saves on large photos, and that it keeps the answer.

Each photo in FOLDER is enlarged to 4000 px on its longer side and re-encoded as a JPEG
(quality 90) in memory, like a camera original. Then every image is decoded and
preprocessed twice, with draft mode (as sparkvision does) and with a full-size decode, and
both inputs go through the built-in model.

Usage: python scripts/measure_draft.py FOLDER [--limit N]
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import time

import numpy as np
from PIL import Image

from sparkvision.executor import get_engine
from sparkvision.imaging import decode_image, to_array
from sparkvision.models import resolve_model
from sparkvision.models.builtin.imagenet import softmax


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args()
    pattern = os.path.join(args.folder, "**", "*.jp*g")
    files = sorted(glob.glob(pattern, recursive=True))[: args.limit]
    big = []
    for path in files:
        img = Image.open(path).convert("RGB")
        scale = 4000 / max(img.size)
        img = img.resize((round(img.size[0] * scale), round(img.size[1] * scale)),
                         Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        big.append(buf.getvalue())
    spec = resolve_model("imagenet")
    pre = spec.preprocess
    engine = get_engine(spec)
    timings, tops = {}, {}
    for name, min_side in (("draft", pre.resize), ("full", 0)):
        arrays = []
        started = time.perf_counter()
        for data in big:
            arrays.append(to_array(decode_image(data, min_side=min_side), pre))
        timings[name] = (time.perf_counter() - started) / len(big) * 1000
        logits = engine(np.stack(arrays))["output"]  # the logits (output_name)
        tops[name] = softmax(logits).argmax(axis=1)
    same = float((tops["draft"] == tops["full"]).mean())
    mean_mb = np.mean([len(b) for b in big]) / 1e6
    print(f"{len(big)} JPEGs, 4000 px on the longer side, mean {mean_mb:.1f} MB")
    print(f"decode + preprocess, full size: {timings['full']:.1f} ms/image")
    print(f"decode + preprocess, draft:     {timings['draft']:.1f} ms/image "
          f"({timings['full'] / timings['draft']:.1f}x faster)")
    print(f"same ImageNet top-1: {same:.0%}")


if __name__ == "__main__":
    main()
