"""Measure ``sparkvision dedup`` on a labelled near-duplicate set made from a photo folder.

    python scripts/measure_dedup.py PHOTOS WORKDIR [--thresholds 0.85,0.88,0.9,0.92]
                                    [--sources N] [--vectors]

1. makes the set (:mod:`sparkvision.dedup.nearset`) in WORKDIR/set: seven files per source
   photo plus another shot of its subject, and WORKDIR/set/truth.csv. With ``--sources N``
   the sources are N crops (a random 40-70 % of each side, some mirrored) cut in turn from
   the photos of PHOTOS, to reach a large set from a small folder;
2. runs ``sparkvision dedup`` on it once per threshold (the first run embeds, unless
   ``--vectors``: then ``sparkvision embed`` runs first and every dedup reuses its output),
   timing each command;
3. prints, per threshold, pair precision and recall against truth.csv
   (:mod:`sparkvision.dedup.evaluate`), the seconds and the stages of the dedup summary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from PIL import ImageOps

from sparkvision.dedup.evaluate import read_truth, score_pairs
from sparkvision.dedup.nearset import TRUTH, make_near_duplicate_set
from sparkvision.imaging import decode_image
from sparkvision.sources import resolve_inputs


def crop_sources(photos: str, out: str, count: int, seed: int = 0) -> str:
    """``count`` crops cut in turn from the photos of ``photos``, saved as JPEGs in ``out``."""
    os.makedirs(out, exist_ok=True)
    paths = resolve_inputs(photos)
    rng = np.random.default_rng(seed)
    for i in range(count):
        with open(paths[i % len(paths)], "rb") as fh:
            img = decode_image(fh.read())
        w, h = img.size
        cw, ch = int(w * rng.uniform(0.4, 0.7)), int(h * rng.uniform(0.4, 0.7))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        part = img.crop((x, y, x + cw, y + ch))
        if rng.random() < 0.5:
            part = ImageOps.mirror(part)
        part.save(os.path.join(out, f"crop{i:05d}.jpg"), quality=90)
    return out


def run(argv: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(argv, check=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos")
    parser.add_argument("work")
    parser.add_argument("--thresholds", default="0.9")
    parser.add_argument("--sources", type=int)
    parser.add_argument("--vectors", action="store_true")
    args = parser.parse_args()
    cli = os.path.join(os.path.dirname(sys.executable), "sparkvision")
    source = args.photos
    if args.sources:
        source = crop_sources(args.photos, os.path.join(args.work, "sources"), args.sources)
    dataset = os.path.join(args.work, "set")
    if not os.path.isfile(os.path.join(dataset, TRUTH)):
        make_near_duplicate_set(source, dataset)
    truth = read_truth(os.path.join(dataset, TRUTH))
    print(f"set: {len(truth)} files from {source}")
    reuse = []
    if args.vectors:
        vectors = os.path.join(args.work, "vectors.parquet")
        if not os.path.exists(vectors):
            seconds = run([cli, "embed", dataset, "--out", vectors, "--quiet"])
            print(f"embed: {seconds:.1f} s")
        reuse = ["--vectors", vectors]
    for threshold in args.thresholds.split(","):
        out = os.path.join(args.work, f"groups-{threshold}.parquet")
        seconds = run([cli, "dedup", dataset, "--out", out, "--threshold", threshold,
                       "--overwrite", *reuse])
        table = pd.read_parquet(out, columns=["path", "group"])
        score = score_pairs(zip(table["path"], table["group"], strict=True), truth)
        with open(os.path.join(out, "_summary.json")) as fh:
            stages = json.load(fh)["stage_seconds"]
        print(f"threshold {threshold}: precision {score.precision:.4f} recall "
              f"{score.recall:.4f} ({score.correct_pairs}/{score.predicted_pairs} predicted, "
              f"{score.true_pairs} true pairs); {seconds:.1f} s; stages {stages}", flush=True)


if __name__ == "__main__":
    main()
