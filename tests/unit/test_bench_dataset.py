"""The synthetic benchmark data set is deterministic and has a photo-like size mix."""

import hashlib
import os

import pytest
from PIL import Image

from sparkvision.bench.dataset import (
    dataset_paths,
    describe,
    image_name,
    image_spec,
    make_dataset,
)
from sparkvision.errors import ConfigError


def _digests(paths):
    return [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = make_dataset(6, str(tmp_path / "a"), seed=3)
    b = make_dataset(6, str(tmp_path / "b"), seed=3)
    c = make_dataset(6, str(tmp_path / "c"), seed=4)
    assert _digests(a) == _digests(b)
    assert set(_digests(a)).isdisjoint(_digests(c))


def test_names_alternate_like_the_seed_data(tmp_path):
    paths = make_dataset(5, str(tmp_path))
    assert [os.path.basename(p) for p in paths] == [
        "cat.0.jpg", "dog.0.jpg", "cat.1.jpg", "dog.1.jpg", "cat.2.jpg"]
    assert image_name(2001) == "dog.1000.jpg"


def test_files_match_their_specs(tmp_path):
    paths = make_dataset(12, str(tmp_path), seed=1)
    for i, path in enumerate(paths):
        spec = image_spec(i, 1)
        with Image.open(path) as img:
            assert img.format == "JPEG"
            assert img.size == (spec["width"], img.height) and img.height == spec["height"]
            assert bool(img.info.get("progressive")) == spec["progressive"]


def test_size_mix_over_many_images():
    specs = [image_spec(i, 0) for i in range(2000)]
    longest = [max(s["width"], s["height"]) for s in specs]
    medium = sum(256 <= side <= 500 for side in longest) / len(specs)
    small = sum(side < 256 for side in longest) / len(specs)
    large = sum(side >= 2000 for side in longest) / len(specs)
    progressive = sum(s["progressive"] for s in specs) / len(specs)
    assert 0.65 < medium < 0.75 and 0.12 < small < 0.18 and 0.12 < large < 0.18
    assert 0.09 < progressive < 0.16
    assert any(s["width"] < s["height"] for s in specs)  # portrait ones too


def test_compresses_like_photos(tmp_path):
    paths = make_dataset(8, str(tmp_path))
    for path in paths:
        with Image.open(path) as img:
            per_pixel = os.path.getsize(path) / (img.width * img.height)
        assert 0.05 < per_pixel < 0.8, (path, per_pixel)


def test_growing_reuses_existing_files_and_describe_counts(tmp_path):
    first = make_dataset(4, str(tmp_path))
    stamps = [os.stat(p).st_mtime_ns for p in first]
    more = make_dataset(6, str(tmp_path))
    assert more[:4] == first and [os.stat(p).st_mtime_ns for p in first] == stamps
    counts = describe(str(tmp_path))
    assert counts["images"] == 6 and counts["bytes"] == sum(os.path.getsize(p) for p in more)
    assert dataset_paths(str(tmp_path), 5) == more[:5]


def test_errors_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="sparkvision make-dataset --n 10"):
        dataset_paths(str(tmp_path), 10)
    make_dataset(2, str(tmp_path), seed=1)
    with pytest.raises(ConfigError, match="made with seed 1; found --seed 2"):
        make_dataset(2, str(tmp_path), seed=2)
    with pytest.raises(ConfigError, match="at least 1"):
        make_dataset(0, str(tmp_path / "x"))
