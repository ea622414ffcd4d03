"""``sparkvision index`` and ``search INDEX``: an index of random vectors finds most of the
exact neighbours of queries it does not hold, records what it was built from, and answers
``search`` with the columns and rows of the exact search."""

from __future__ import annotations

import itertools
import json
import os
import shlex

import numpy as np
import pandas as pd
import pytest

import sparkvision as sv
from helpers.cli import run_cli
from helpers.drawing import drawn_image
from helpers.extras import need

need("faiss", "index")

from sparkvision.photosearch.index import (  # noqa: E402
    RECORD_FILE,
    IndexSettings,
    build_index,
    exact_top,
    is_index,
    load_index,
    recall_at,
)

pytestmark = [pytest.mark.spark, pytest.mark.timeout(120)]

N, DIM = 5000, 64
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    """(table, paths, the index folder, its summary) of ``N`` random vectors."""
    root = tmp_path_factory.mktemp("index")
    rng = np.random.default_rng(3)
    table = rng.normal(size=(N, DIM)).astype(np.float32)
    table[7] = 0.0  # no direction: skipped
    paths = [f"img/{i:05d}.jpg" for i in range(N)]
    vectors = str(root / "vectors.parquet")
    pd.DataFrame({"path": paths, "embedding": list(table), "error": None}).to_parquet(vectors)
    out = str(root / "idx")
    summary = build_index(vectors, out, spark=spark, recall_queries=100)
    return table, paths, out, summary


def test_the_index_finds_the_neighbours_of_queries_it_does_not_hold(built):
    table, paths, out, summary = built
    assert summary.count == N - 1 and summary.skipped == 1 and summary.dimension == DIM
    assert summary.recall_queries == 100 and summary.recall_at_10 >= 0.9
    assert "recall@10: " in summary.render()
    loaded = load_index(out)
    queries = np.random.default_rng(4).normal(size=(50, DIM))
    kept = [i for i in range(N) if i != 7]
    truth = exact_top(unit(table[kept]), unit(queries), 10)
    found = loaded.search(queries, 10)
    row = {paths[i]: n for n, i in enumerate(kept)}
    got = np.array([[row[p] for p, _ in hits] for hits in found])
    assert recall_at(got, truth) >= 0.9
    sims = [s for hits in found for _, s in hits]
    exact = unit(queries) @ unit(table[kept]).T
    assert max(sims) <= exact.max() + 1e-5  # similarities are cosines, not distances
    assert all(a[1] >= b[1] for hits in found for a, b in itertools.pairwise(hits))


def test_the_record_says_what_the_index_was_built_from(built):
    _, _, out, summary = built
    assert is_index(out) and not is_index(os.path.dirname(out))
    with open(os.path.join(out, RECORD_FILE), encoding="utf-8") as fh:
        record = json.load(fh)
    assert record["kind"] == "sparkvision-index" and record["library"] == "faiss"
    assert record["count"] == N - 1 and record["dimension"] == DIM
    assert record["settings"] == {"connections": IndexSettings().connections,
                                  "ef_construction": IndexSettings().ef_construction,
                                  "ef_search": IndexSettings().ef_search}
    assert record["recall_at_10"] == summary.recall_at_10 and record["model"] is None


def test_bad_settings_are_refused():
    with pytest.raises(Exception, match="`ef_search` must be a whole number >= 2"):
        IndexSettings(ef_search=0)


def test_search_index_answers_like_the_exact_search(spark, tmp_path):
    """A drawn photo embedded by the built-in model among random vectors (and a near copy of
    it): ``search INDEX`` gives the exact search's rows, the photo first."""
    photo = str(tmp_path / "query.png")
    drawn_image(5).save(photo)
    embedded = str(tmp_path / "one.parquet")
    done = run_cli(["embed", photo, "--out", embedded, "--quiet"], in_process=True)
    assert done.rc == 0, done.output
    vector = np.stack(pd.read_parquet(embedded)["embedding"])[0]
    rng = np.random.default_rng(5)
    others = rng.normal(size=(400, len(vector))).astype(np.float32)
    others[0] = vector + 0.3 * np.linalg.norm(vector) / np.sqrt(len(vector)) * others[1]
    vectors = str(tmp_path / "vectors.parquet")
    pd.DataFrame({"path": [photo] + [f"r/{i:03d}.jpg" for i in range(400)],
                  "embedding": [vector.astype(np.float32), *others]}).to_parquet(vectors)
    index = str(tmp_path / "idx")
    built = run_cli(["index", vectors, "--out", index], in_process=True)
    assert built.rc == 0, built.output
    assert "recall@10: " in built.stdout
    missing = str(tmp_path / "gone.jpg")
    answers = {}
    for name, source in (("index", index), ("exact", vectors)):
        out = str(tmp_path / f"{name}.parquet")
        result = run_cli(["search", source, "--image", photo, missing, "--top", "5",
                          "--out", out], in_process=True)
        assert result.rc == 0, result.output
        answers[name] = pd.read_parquet(out)
    hits, exact = answers["index"], answers["exact"]
    from_api = sv.search(index, [photo, missing], k=5).toPandas()  # the API takes INDEX too
    assert list(from_api["path"].fillna("")) == list(hits["path"].fillna(""))
    assert np.allclose(from_api["similarity"].fillna(0), hits["similarity"].fillna(0))
    assert list(hits.columns) == ["query", "rank", "path", "similarity", "error"]
    assert list(hits["path"][:2]) == [photo, "r/000.jpg"] and hits["similarity"][0] > 0.999
    assert list(hits["path"].fillna("")) == list(exact["path"].fillna(""))
    assert np.allclose(hits["similarity"].fillna(0), exact["similarity"].fillna(0), atol=1e-5)
    gone = hits[hits["query"] == missing]
    assert len(gone) == 1 and gone.iloc[0]["error"]


def test_the_usage_page_index_commands_parse():
    from sparkvision.cli.main import build_parser

    with open(os.path.join(ROOT, "docs", "usage.md"), encoding="utf-8") as fh:
        text = fh.read()
    start = text.index("\n### A faster index\n")
    section = text[start:text.find("\n## ", start + 1)]
    lines = [shlex.split(line, comments=True) for line in section.splitlines()
             if line.startswith(("sparkvision index", "sparkvision search"))]
    assert any(words[1] == "index" for words in lines)
    for words in lines:
        build_parser().parse_args(words[1:])
