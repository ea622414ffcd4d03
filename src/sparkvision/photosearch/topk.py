"""Exact top-k cosine search of a few query vectors over a table of any size, on Spark.

The vectors never meet in one process: each partition keeps, per query, its own ``k``
best rows (``mapInPandas``: one matrix product per Arrow batch, queries against rows), so
at most ``partitions * queries * k`` rows leave the tasks; a window over those picks the
global ``k`` per query. Both steps order the same way, similarity descending then path
ascending, so equal similarities are broken by the path and the answer does not depend
on how the table is partitioned.

Cosine similarity is the dot product of the L2-normalised vectors, computed in float64
and reported rounded to float32 precision: a vector compared in two different batches
gives the same similarity, so ties stay ties. Rows whose vector is missing, all zeros or
not finite are skipped; a row whose vector has another length than the queries is an
error (the table was made with another model).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from sparkvision.errors import InputError

#: one row per (query, result); a query that failed has one row with ``error`` and no result
RESULT_COLUMNS = ("query", "rank", "path", "similarity", "error")
RESULT_SCHEMA = "query string, rank int, path string, similarity double, error string"
_PARTIAL_SCHEMA = "q int, path string, similarity double"


def unit_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(unit, kept)``: the rows of ``matrix`` with a finite, non-zero norm, each divided
    by its L2 norm (float64), and the boolean mask of those rows.

    >>> unit, kept = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    >>> unit.tolist(), kept.tolist()
    ([[0.6, 0.8]], [True, False])
    """
    values = np.asarray(matrix, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", values, values))
    kept = np.isfinite(norms) & (norms > 0)
    return values[kept] / norms[kept, None], kept


def best_of(similarity: np.ndarray, paths: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best rows: similarity descending, then path ascending.

    >>> best_of(np.array([0.5, 0.9, 0.5, 0.5]), np.array(["d", "a", "c", "b"]), 3).tolist()
    [1, 3, 2]
    """
    n = len(similarity)
    if n > k:
        kth = np.partition(similarity, n - k)[n - k]  # the k-th largest value
        candidates = np.flatnonzero(similarity >= kth)  # with every row tied with it
    else:
        candidates = np.arange(n)
    order = np.lexsort((paths[candidates], -similarity[candidates]))
    return candidates[order[:k]]


class _Best:
    """The ``k`` best rows per query seen so far in one task."""

    def __init__(self, queries: int, k: int) -> None:
        self.k = k
        self.sims = [np.empty(0, dtype=np.float64) for _ in range(queries)]
        self.paths = [np.empty(0, dtype=str) for _ in range(queries)]

    def add(self, sims: np.ndarray, paths: np.ndarray) -> None:
        """``sims``: (rows, queries) similarities of ``paths`` (rows,) to every query."""
        for q in range(sims.shape[1]):
            pick = best_of(sims[:, q], paths, self.k)
            s = np.concatenate([self.sims[q], sims[pick, q]])
            p = np.concatenate([self.paths[q], paths[pick]])
            keep = best_of(s, p, self.k)
            self.sims[q], self.paths[q] = s[keep], p[keep]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "q": np.concatenate([np.full(len(s), q, dtype=np.int32)
                                 for q, s in enumerate(self.sims)] or [np.empty(0, np.int32)]),
            "path": np.concatenate(self.paths or [np.empty(0, dtype=str)]).astype(object),
            "similarity": np.concatenate(self.sims or [np.empty(0)]),
        })


def partial_top_k(queries: np.ndarray, k: int):
    """The ``mapInPandas`` function: batches of ``path``, ``embedding`` -> at most ``k``
    rows per query (``q``, ``path``, ``similarity``) for the whole partition."""
    dim = queries.shape[1]

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        best = _Best(len(queries), k)
        for batch in batches:
            batch = batch[batch["embedding"].notna() & batch["path"].notna()]
            if batch.empty:
                continue
            lengths = batch["embedding"].map(len).to_numpy()
            if (lengths != dim).any():
                wrong = int(lengths[lengths != dim][0])
                raise ValueError(
                    f"a vector of {wrong} numbers where the queries have {dim}: the table "
                    "mixes vectors of different models")
            units, kept = unit_rows(np.stack(batch["embedding"].to_numpy()))
            paths = batch["path"].to_numpy(dtype=str)[kept]
            sims = (units @ queries.T).astype(np.float32).astype(np.float64)
            best.add(sims, paths)
        yield best.frame()

    return run


def top_k(vectors, queries: np.ndarray, names: Sequence[str], k: int, *,
          numbers: Sequence[int] | None = None):
    """The ``k`` nearest rows of ``vectors`` (``path``, ``embedding``) to each row of
    ``queries`` by cosine similarity: a DataFrame of ``q`` (the query's number: its index,
    or ``numbers[index]``), ``query`` (from ``names``), ``rank`` (1 = most similar),
    ``path``, ``similarity`` and ``error`` (null); :func:`in_order` sorts it."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if k < 1:
        raise InputError(f"`k` must be >= 1; found {k}")
    units, kept = unit_rows(queries)
    if not kept.all():
        raise InputError("a query vector is all zeros or not finite: it has no direction "
                         "to compare")
    spark = vectors.sparkSession
    reduced = (vectors.select(F.col("path").cast("string").alias("path"),
                              F.col("embedding").cast("array<float>").alias("embedding"))
               .mapInPandas(partial_top_k(units, k), _PARTIAL_SCHEMA))
    order = Window.partitionBy("q").orderBy(F.col("similarity").desc(), F.col("path").asc())
    ranked = (reduced.withColumn("rank", F.row_number().over(order))
              .where(F.col("rank") <= k))
    numbers = list(range(len(names))) if numbers is None else list(numbers)
    labels = spark.createDataFrame([(i, int(numbers[i]), str(n)) for i, n in enumerate(names)],
                                   "q int, number int, query string")
    return (ranked.join(F.broadcast(labels), "q")
            .select(F.col("number").alias("q"), "query",
                    F.col("rank").cast("int").alias("rank"), "path", "similarity",
                    F.lit(None).cast("string").alias("error")))


def in_order(results):
    """``results`` (with ``q``) sorted by query, as given, then rank, without ``q``."""
    from pyspark.sql import functions as F

    return (results.orderBy("q", F.col("rank").asc_nulls_first())
            .select(*RESULT_COLUMNS))
