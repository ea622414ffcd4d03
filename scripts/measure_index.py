"""Measure search on random vectors: the exact top-k on Spark against numpy brute force,
and the approximate index (``sparkvision index``) against both.

    python scripts/measure_index.py WORKDIR [--count 100000] [--dim 1280] [--queries 200]
                                    [--spark-queries 20] [--connections M]
                                    [--ef-construction N] [--ef-search N,N,...]
                                    [--isotropic] [--usearch]

1. writes ``--count`` random unit vectors of ``--dim`` numbers to WORKDIR/vectors.parquet
   (an embed-like table: path, embedding). By default they lie near a 64-dimensional
   subspace (a random 64-d Gaussian mapped to ``--dim`` plus noise carrying a fifth of the
   variance), as image embeddings do; ``--isotropic`` draws them from a plain Gaussian,
   where every cosine is about 0 +- 1/sqrt(dim) and no index does much better than
   reading everything;
2. exact search on Spark (:func:`sparkvision.photosearch.topk.top_k`) of
   ``--spark-queries`` new random vectors against numpy brute force in float64: the same
   paths per query and rank, similarities within 1e-5;
3. builds the index with :func:`sparkvision.photosearch.index.build_index` (read with
   Spark, collected here) and prints its record;
4. ``--queries`` new random vectors (none of them in the index): recall@10 of the index
   against numpy brute force, and the time per query of each, one query at a time, in this
   process; once per ``--ef-search`` value. numpy is timed before and after the index,
   and the faster of the two is the one compared with;
5. with ``--usearch``: the same vectors in a usearch HNSW index of the same settings,
   built and measured the same way (how faiss was chosen).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sparkvision.options import SparkOptions
from sparkvision.photosearch.index import (
    IndexSettings,
    build_index,
    exact_top,
    load_index,
    recall_at,
)
from sparkvision.photosearch.topk import in_order, top_k
from sparkvision.photosearch.vectors import read_vectors
from sparkvision.runtime.session import open_session

LATENT = 64


def random_units(rng: np.random.Generator, count: int, dim: int, basis: np.ndarray | None,
                 ) -> np.ndarray:
    """``count`` random unit vectors: near the subspace ``basis`` spans, or isotropic."""
    if basis is None:
        x = rng.standard_normal((count, dim), dtype=np.float32)
    else:
        x = (rng.standard_normal((count, LATENT), dtype=np.float32) @ basis
             + 0.5 * rng.standard_normal((count, dim), dtype=np.float32))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def write_vectors(path: str, units: np.ndarray, paths: list[str]) -> None:
    """An embed-like Parquet table of ``paths`` and ``units`` (row groups of 10,000)."""
    n, dim = units.shape
    offsets = pa.array(np.arange(0, n * dim + 1, dim, dtype=np.int32))
    embedding = pa.ListArray.from_arrays(offsets, pa.array(units.reshape(-1)))
    pq.write_table(pa.table({"path": pa.array(paths), "embedding": embedding}), path,
                   row_group_size=10_000)


def brute_force(units: np.ndarray, paths: np.ndarray, query: np.ndarray, k: int,
                ) -> list[tuple[str, float]]:
    """numpy's exact answer, as top_k orders and rounds it: similarity (float64, rounded to
    float32) descending, then path ascending."""
    q = query / np.linalg.norm(query)
    sims = (units.astype(np.float64) @ q).astype(np.float32).astype(np.float64)
    part = np.argpartition(-sims, k + 10)[:k + 10]
    order = sorted(part, key=lambda i: (-sims[i], paths[i]))[:k]
    return [(str(paths[i]), float(sims[i])) for i in order]


def check_exact(spark, vectors: str, units, paths, queries, k: int = 10) -> dict:
    """Spark's exact top-k of ``queries`` against numpy brute force."""
    started = time.perf_counter()
    frame = read_vectors(spark, vectors)
    got = in_order(top_k(frame, queries.astype(np.float64),
                         [f"q{i}" for i in range(len(queries))], k)).toPandas()
    seconds = time.perf_counter() - started
    same_paths, worst = True, 0.0
    for i, query in enumerate(queries):
        expected = brute_force(units, paths, query, k)
        rows = got[got["query"] == f"q{i}"]
        same_paths &= list(rows["path"]) == [p for p, _ in expected]
        worst = max(worst, float(np.abs(rows["similarity"].to_numpy()
                                         - np.array([s for _, s in expected])).max()))
    return {"queries": len(queries), "same_paths": bool(same_paths),
            "max_similarity_difference": worst, "spark_seconds": round(seconds, 1)}


def per_query(fn, queries: np.ndarray) -> tuple[list, float]:
    """``fn`` on each query in turn: the answers and the seconds per query."""
    started = time.perf_counter()
    answers = [fn(q) for q in queries]
    return answers, (time.perf_counter() - started) / len(queries)


def numpy_top(units: np.ndarray):
    def run(q: np.ndarray) -> np.ndarray:
        sims = units @ (q / np.linalg.norm(q))
        top = np.argpartition(-sims, 10)[:10]
        return top[np.argsort(-sims[top])]
    return run


def measure_usearch(units: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                    settings: IndexSettings, efs: list[int], numpy_s: float) -> list[dict]:
    from usearch.index import Index

    index = Index(ndim=units.shape[1], metric="ip", dtype="f32",
                  connectivity=settings.connections, expansion_add=settings.ef_construction)
    started = time.perf_counter()
    index.add(np.arange(len(units)), units, threads=os.cpu_count() or 1)
    build = time.perf_counter() - started
    rows = []
    for ef in efs:
        index.expansion_search = ef
        found, seconds = per_query(lambda q: index.search(q, 10).keys, queries)
        rows.append({"library": "usearch", "ef_search": ef, "build_seconds": round(build, 1),
                     "recall_at_10": round(recall_at(np.stack(found), truth), 4),
                     "ms_per_query": round(seconds * 1e3, 3),
                     "speedup": round(numpy_s / seconds, 1)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--spark-queries", type=int, default=20)
    default = IndexSettings()
    parser.add_argument("--connections", type=int, default=default.connections)
    parser.add_argument("--ef-construction", type=int, default=default.ef_construction)
    parser.add_argument("--ef-search", default=str(default.ef_search),
                        help="comma-separated; the index records the first")
    parser.add_argument("--isotropic", action="store_true")
    parser.add_argument("--usearch", action="store_true")
    args = parser.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    rng = np.random.default_rng(0)
    basis = None if args.isotropic else (
        rng.standard_normal((LATENT, args.dim), dtype=np.float32) / np.sqrt(LATENT))
    units = random_units(rng, args.count, args.dim, basis)
    paths = np.array([f"v/{i:07d}.jpg" for i in range(args.count)], dtype=object)
    vectors = os.path.join(args.workdir, "vectors.parquet")
    write_vectors(vectors, units, list(paths))
    spark = open_session(SparkOptions(conf=(("spark.driver.memory", "6g"),)))

    exact = check_exact(spark, vectors, units, paths,
                        random_units(rng, args.spark_queries, args.dim, basis))
    print("exact on Spark against numpy:", json.dumps(exact))

    efs = [int(e) for e in args.ef_search.split(",")]
    settings = IndexSettings(args.connections, args.ef_construction, efs[0])
    out = os.path.join(args.workdir, "index")
    summary = build_index(vectors, out, settings=settings, spark=spark, overwrite=True)
    print(summary.render())

    queries = random_units(rng, args.queries, args.dim, basis)
    truth = exact_top(units, queries, 10)
    numpy_found, numpy_s = per_query(numpy_top(units), queries)
    assert recall_at(np.stack(numpy_found), truth) == 1.0
    loaded = load_index(out)
    row = {p: i for i, p in enumerate(paths)}
    results = []
    for ef in efs:
        loaded.record["settings"]["ef_search"] = ef
        found, seconds = per_query(lambda q: loaded.search(q[None], 10)[0], queries)
        got = np.array([[row[p] for p, _ in hits] for hits in found])
        results.append({"library": "faiss", "ef_search": ef,
                        "build_seconds": summary.build_seconds,
                        "recall_at_10": round(recall_at(got, truth), 4),
                        "ms_per_query": round(seconds * 1e3, 3),
                        "speedup": round(numpy_s / seconds, 1)})
    if args.usearch:
        results += measure_usearch(units, queries, truth, settings, efs, numpy_s)
    _, again = per_query(numpy_top(units), queries)  # the machine may be busier now
    if again < numpy_s:
        for result in results:
            result["speedup"] = round(result["speedup"] * again / numpy_s, 1)
        numpy_s = again
    print(f"numpy brute force: {numpy_s * 1e3:.2f} ms per query "
          f"({args.count} x {args.dim}, {args.queries} queries not in the index)")
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
