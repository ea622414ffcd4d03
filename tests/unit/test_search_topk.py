"""The exact top-k of ``sparkvision search`` on Spark against numpy brute force: the same
rows, ranks and similarities whatever the partitioning, ties broken by path."""

from __future__ import annotations

import numpy as np
import pytest

from sparkvision.photosearch.job import search_frame
from sparkvision.photosearch.queries import Query
from sparkvision.photosearch.topk import best_of, in_order, top_k

pytestmark = pytest.mark.spark

N, DIM, K = 5000, 64, 7


def brute_force(table: np.ndarray, paths: list[str], query: np.ndarray, k: int):
    """(path, similarity) of the ``k`` best rows: cosine descending, then path ascending."""
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    sims = (unit @ (query / np.linalg.norm(query))).astype(np.float32).astype(np.float64)
    order = sorted(range(len(paths)), key=lambda i: (-sims[i], paths[i]))[:k]
    return [(paths[i], float(sims[i])) for i in order]


@pytest.fixture(scope="module")
def planted():
    """``N`` random vectors with exact copies planted under other names (ties), and a few
    rows a search must skip (missing, all zeros)."""
    rng = np.random.default_rng(11)
    table = rng.normal(size=(N, DIM)).astype(np.float32)
    paths = [f"img/{i:05d}.jpg" for i in range(N)]
    for copy, source in enumerate((5, 5, 5, 17, 4000, 4000)):
        table[N - 1 - copy] = table[source]  # rows spread over other partitions
        paths[N - 1 - copy] = f"copy/{copy}-{source}.jpg"
    queries = rng.normal(size=(12, DIM))
    queries[0], queries[1], queries[2] = table[5], table[17] * 3.0, table[4000]
    return table, paths, queries


def frame_of(spark, table, paths, partitions: int):
    rows = [(p, [float(v) for v in row]) for p, row in zip(paths, table, strict=True)]
    rows += [("skipped/none.jpg", None), ("skipped/zeros.jpg", [0.0] * DIM)]
    return spark.createDataFrame(rows, "path string, embedding array<float>").repartition(
        partitions)


@pytest.mark.parametrize("partitions", [1, 7])
def test_top_k_on_spark_is_numpy_brute_force(spark, planted, partitions):
    table, paths, queries = planted
    names = [f"q{i}" for i in range(len(queries))]
    vectors = frame_of(spark, table, paths, partitions)
    got = in_order(top_k(vectors, queries, names, K)).collect()
    assert [r["query"] for r in got] == [n for n in names for _ in range(K)]
    assert [r["rank"] for r in got] == list(range(1, K + 1)) * len(names)
    for i, name in enumerate(names):
        mine = [(r["path"], r["similarity"]) for r in got if r["query"] == name]
        truth = brute_force(table, paths, queries[i], K)
        assert [p for p, _ in mine] == [p for p, _ in truth], name
        assert np.allclose([s for _, s in mine], [s for _, s in truth], atol=1e-6)
    # the exact copies tie with their source: the source row and its copies, by path
    assert [r["path"] for r in got if r["query"] == "q0"][:4] == [
        "copy/0-5.jpg", "copy/1-5.jpg", "copy/2-5.jpg", "img/00005.jpg"]
    assert [r["path"] for r in got if r["query"] == "q1"][:2] == ["copy/3-17.jpg",
                                                                   "img/00017.jpg"]
    assert [r["similarity"] for r in got if r["query"] == "q2"][:3] == [1.0, 1.0, 1.0]


def test_more_k_than_rows_gives_every_row_and_failed_queries_keep_their_place(spark):
    table = np.eye(3, DIM, dtype=np.float32)
    vectors = frame_of(spark, table, ["a.jpg", "b.jpg", "c.jpg"], 2)
    queries = [Query("one.jpg", vector=np.eye(1, DIM)[0]), Query("bad.jpg", error="no file"),
               Query("two.jpg", vector=np.eye(1, DIM, 1)[0] + np.eye(1, DIM, 2)[0])]
    rows = [tuple(r) for r in search_frame(spark, vectors, queries, 5).collect()]
    assert rows[0] == ("one.jpg", 1, "a.jpg", 1.0, None)
    assert [r[2] for r in rows[:3]] == ["a.jpg", "b.jpg", "c.jpg"]  # 0.0 ties, by path
    assert rows[3] == ("bad.jpg", None, None, None, "no file")
    assert [r[2] for r in rows[4:]] == ["b.jpg", "c.jpg", "a.jpg"]
    assert rows[4][3] == pytest.approx(2 ** -0.5, abs=1e-6)


def test_best_of_breaks_ties_by_path_at_the_cut():
    sims = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    paths = np.array(["z", "c", "a", "b", "y"])
    assert best_of(sims, paths, 2).tolist() == [0, 2]
    assert best_of(sims, paths, 10).tolist() == [0, 2, 3, 1, 4]
