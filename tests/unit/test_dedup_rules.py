"""dedup without Spark: the keeper rule and its reasons, pair scoring, the bucket checker
of the banded LSH, and the near-duplicate set generator."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from helpers.drawing import write_images
from sparkvision.dedup.evaluate import score_pairs
from sparkvision.dedup.keeper import FileInfo, choose_keeper, duplicate_reason, keeper_reason
from sparkvision.dedup.lsh import bucket_pairs
from sparkvision.dedup.nearset import OTHER_SHOT, TRUTH, VARIANTS, make_near_duplicate_set
from sparkvision.imaging import decode_image


def test_keeper_most_pixels_then_largest_file_then_oldest_then_path():
    big = FileInfo("z.jpg", 4000, 10, 50.0)
    assert choose_keeper([FileInfo("a.jpg", 1000, 99, 1.0), big]).path == "z.jpg"
    heavy = FileInfo("y.jpg", 4000, 20, 60.0)
    assert choose_keeper([big, heavy]).path == "y.jpg"
    old = FileInfo("x.jpg", 4000, 20, 10.0)
    assert choose_keeper([heavy, old]).path == "x.jpg"
    twin = FileInfo("w.jpg", 4000, 20, 10.0)
    assert choose_keeper([old, twin]).path == "w.jpg"
    assert choose_keeper([FileInfo("n.jpg", None, None, None), old]).path == "x.jpg"


def test_reasons_say_why():
    keeper = FileInfo("k.jpg", 4000, 20, 10.0)
    most = keeper_reason(keeper, FileInfo("o.jpg", 1000, 20, 10.0))
    assert most.startswith("keeper: most pixels")
    assert "largest file" in keeper_reason(keeper, FileInfo("o.jpg", 4000, 5, 1.0))
    assert "oldest" in keeper_reason(keeper, FileInfo("o.jpg", 4000, 20, 11.0))
    small = duplicate_reason(FileInfo("s.jpg", 1000, 30, 1.0), keeper, "near", 0.9312)
    assert small == "cosine 0.931 to the keeper; fewer pixels (1,000 pixels vs 4,000 pixels)"
    copy = duplicate_reason(FileInfo("c.jpg", 4000, 20, 12.0), keeper, "exact", 1.0)
    assert copy.startswith("same bytes as the keeper; newer")
    twin = duplicate_reason(FileInfo("d.jpg", 1000, 5, 1.0), keeper, "exact", 0.95, twin="/x/s.jpg")
    assert twin == "same bytes as s.jpg, a near duplicate of the keeper (cosine 0.950)"


def test_pair_scores():
    truth = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "c": "C"}
    perfect = score_pairs([("a1", 1), ("a2", 1), ("a3", 1), ("b1", 2), ("b2", 2)], truth)
    assert (perfect.precision, perfect.recall) == (1.0, 1.0)
    merged = score_pairs([("a1", 1), ("a2", 1), ("b1", 1), ("b2", 2)], truth)
    assert merged.correct_pairs == 1 and merged.predicted_pairs == 3 and merged.true_pairs == 4


def _bucket_rows(buckets):
    rows = []
    for band, key, members in buckets:
        for ident, vec in members:
            v = np.asarray(vec, dtype=np.float32)
            rows.append({"band": band, "key": key, "id": ident, "e": v / np.linalg.norm(v)})
    return pd.DataFrame(rows)


def test_bucket_pairs_checks_each_bucket_and_bridges_batch_boundaries():
    frame = _bucket_rows([
        (0, 11, [(1, [1, 0]), (2, [1, 0.1]), (3, [0, 1])]),
        (0, 12, [(4, [1, 1])]),
        (1, 11, [(2, [1, 0.1]), (1, [1, 0]), (5, [1, 0.05])]),
    ])
    whole = pd.concat(bucket_pairs(iter([frame]), 0.99))
    # split inside the first and the last bucket: same pairs
    cut = pd.concat(bucket_pairs(iter([frame.iloc[:2], frame.iloc[2:5], frame.iloc[5:]]), 0.99))
    key = lambda f: sorted((int(a), int(b)) for a, b in zip(f["a"], f["b"], strict=True))  # noqa: E731
    assert key(whole) == key(cut) == [(1, 2), (1, 2), (1, 5), (2, 5)]
    assert (whole["similarity"] >= 0.99).all()


def test_near_duplicate_set_has_labelled_families(tmp_path):
    sources = tmp_path / "src"
    write_images(str(sources), ["a.jpg", "b.png"], size=(200, 120))
    rows = make_near_duplicate_set(str(sources), str(tmp_path / "set"))
    assert len(rows) == 2 * (len(VARIANTS) + 1)
    with open(tmp_path / "set" / TRUTH, newline="") as fh:
        assert list(csv.DictReader(fh)) == rows
    family = {r["variant"]: r["path"] for r in rows if r["family"] == "s00000"}
    read = {k: Path(p).read_bytes() for k, p in family.items()}
    assert read["original"] == read["copy"] == (sources / "a.jpg").read_bytes()
    size = lambda k: decode_image(read[k]).size  # noqa: E731
    assert size("resized") == (100, 60) and size("cropped") == (190, 114)
    assert size("exif_rotated") == (200, 120)  # stored 120x200, upright once decoded
    assert Image.open(io.BytesIO(read["exif_rotated"])).size == (120, 200)
    shots = [r for r in rows if r["variant"] == OTHER_SHOT]
    assert {r["family"] for r in shots} == {"s00000-shot", "s00001-shot"}
    assert all(os.path.isfile(r["path"]) for r in rows)
