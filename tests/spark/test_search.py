"""``sparkvision search`` end to end on the shared session: drawn photos embedded, altered
copies of a few of them found by searching with the originals, a missing query photo
reported in its own row, and what search refuses (--text, vectors of another model)."""

from __future__ import annotations

import os
import re
import shlex

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers.cli import run_cli
from helpers.drawing import drawn_image, write_images

pytestmark = [pytest.mark.spark, pytest.mark.timeout(300)]

ALTERED = ("resized", "recompressed", "cropped")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def altered(img: Image.Image, kind: str) -> tuple[Image.Image, int]:
    """``img`` made smaller, re-encoded at a low JPEG quality, or cut a little; the quality."""
    w, h = img.size
    if kind == "resized":
        return img.resize((w // 2, h // 2), Image.Resampling.LANCZOS), 90
    if kind == "recompressed":
        return img, 25
    return img.crop((w // 20, h // 25, w - w // 25, h - h // 20)), 90


@pytest.fixture(scope="module")
def embedded(spark, tmp_path_factory):
    """(photos folder, the originals searched with, the vectors of every photo)."""
    root = tmp_path_factory.mktemp("search")
    photos = root / "photos"
    write_images(str(photos), [f"drawn/{i:02d}.jpg" for i in range(12)], seed=40)
    originals = [str(photos / "drawn" / "03.jpg"), str(photos / "drawn" / "08.jpg")]
    for original in originals:
        stem = os.path.splitext(os.path.basename(original))[0]
        with Image.open(original) as img:
            for kind in ALTERED:
                picture, quality = altered(img.convert("RGB"), kind)
                os.makedirs(photos / "altered", exist_ok=True)
                picture.save(photos / "altered" / f"{stem}-{kind}.jpg", "JPEG",
                             quality=quality)
    vectors = str(root / "vectors.parquet")
    done = run_cli(["embed", str(photos), "--out", vectors, "--quiet"], in_process=True)
    assert done.rc == 0, done.output
    return photos, originals, vectors


def test_altered_copies_are_in_the_top_5_and_a_missing_photo_has_its_row(embedded, tmp_path):
    photos, originals, vectors = embedded
    missing = str(tmp_path / "gone.jpg")
    out, page = str(tmp_path / "hits.parquet"), str(tmp_path / "hits.html")
    result = run_cli(["search", vectors, "--image", *originals, missing, "--top", "5",
                      "--out", out, "--report", page], in_process=True)
    assert result.rc == 0, result.output
    assert "model: embedding (recorded by embed), 1280 numbers per image" in result.stdout
    table = pd.read_parquet(out)
    assert list(table.columns) == ["query", "rank", "path", "similarity", "error"]
    assert list(table["query"].drop_duplicates()) == [*originals, missing]  # as given
    for original in originals:
        hits = table[table["query"] == original]
        assert list(hits["rank"]) == [1, 2, 3, 4, 5] and hits["error"].isna().all()
        assert hits["similarity"].is_monotonic_decreasing
        assert hits.iloc[0]["path"] == original and hits.iloc[0]["similarity"] > 0.999
        stem = os.path.splitext(os.path.basename(original))[0]
        copies = {str(photos / "altered" / f"{stem}-{kind}.jpg") for kind in ALTERED}
        assert copies <= set(hits["path"]), hits
    gone = table[table["query"] == missing]
    assert len(gone) == 1 and pd.isna(gone.iloc[0]["path"]) and gone.iloc[0]["error"]
    with open(page, encoding="utf-8") as fh:
        html = fh.read()
    assert html.count("data:image/jpeg;base64,") >= 2 * 6  # each query and its 5 results
    assert "gone.jpg" in html and "no results" in html


def test_the_python_api_gives_the_same_rows(embedded, spark):
    import sparkvision as sv

    _, originals, vectors = embedded
    frame = spark.read.parquet(vectors)  # a DataFrame works as well as the folder
    hits = sv.search(frame, originals[0], k=3).toPandas()
    assert list(hits["rank"]) == [1, 2, 3] and hits.iloc[0]["path"] == originals[0]


def test_text_search_over_vectors_of_a_photo_only_model_is_refused_clearly(embedded, tmp_path):
    _, _, vectors = embedded
    result = run_cli(["search", vectors, "--text", "a red ball", "--out",
                      str(tmp_path / "t.parquet")], in_process=True)
    assert result.rc == 2, result.output
    assert re.search(r"searching by text needs .*CLIP.*embedding is not one", result.stderr), \
        result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "t.parquet").exists()


def test_vectors_of_another_model_are_refused(embedded, tmp_path):
    _, originals, _ = embedded
    other = tmp_path / "other.parquet"
    pd.DataFrame({"path": ["a.jpg", "b.jpg"],
                  "embedding": [np.ones(64, np.float32), np.zeros(64, np.float32)],
                  "error": [None, None]}).to_parquet(other)
    result = run_cli(["search", str(other), "--image", originals[0], "--out",
                      str(tmp_path / "x.parquet")], in_process=True)
    assert result.rc == 2, result.output
    assert "the vectors hold 64 numbers per image but model 'embedding' gives 1280" in \
        result.stderr
    assert "--model" in result.stderr and not os.path.exists(tmp_path / "x.parquet")


def test_the_usage_page_commands_parse():
    """Every ``sparkvision search`` line of docs/usage.md's section is a valid command."""
    from sparkvision.cli.main import build_parser

    with open(os.path.join(ROOT, "docs", "usage.md"), encoding="utf-8") as fh:
        text = fh.read()
    start = text.index("\n## Search by photo\n")
    section = text[start:text.find("\n## ", start + 1)]
    lines = [shlex.split(line, comments=True) for line in section.splitlines()
             if line.startswith("sparkvision search")]
    assert lines, "the section lost its commands"
    for words in lines:
        build_parser().parse_args(words[1:])


def test_a_drawn_query_not_in_the_set_still_gets_k_results(embedded, tmp_path):
    _, _, vectors = embedded
    stranger = str(tmp_path / "stranger.png")
    drawn_image(999).save(stranger)
    out = str(tmp_path / "s.csv")
    result = run_cli(["search", vectors, "--image", stranger, "--top", "4", "--out", out],
                     in_process=True)
    assert result.rc == 0, result.output
    table = pd.read_csv(next(os.path.join(out, f) for f in sorted(os.listdir(out))
                             if f.endswith(".csv")))
    assert list(table["rank"]) == [1, 2, 3, 4] and table["similarity"].max() < 0.999
