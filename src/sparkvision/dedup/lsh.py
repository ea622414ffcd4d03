"""Near-duplicate pairs among L2-normalised embeddings, found on Spark with MLlib LSH.

The hashes are Spark MLlib's :class:`~pyspark.ml.feature.BucketedRandomProjectionLSH`:
each of its hash tables projects a vector on a random unit direction and cuts the line
into buckets of ``bucketLength``. Two ways to turn hashes into candidate pairs:

``banded`` (default)
    the hashes are taken ``rows`` at a time into ``bands`` band keys (a pair shares a band
    key only if it shares all ``rows`` buckets of that band: AND), and a pair sharing any
    band key is a candidate (OR). Buckets holding one image are dropped first; each bucket
    with several images is checked on the executors by one small matrix product of its
    members' vectors, and the pairs at or above the threshold are kept.
``mllib``
    MLlib's own ``approxSimilarityJoin`` of the table with itself: a pair is a candidate
    when it shares the bucket of *any single* projection. On 1280-long embeddings one
    projection separates little, so nearly every pair becomes a candidate (docs/dedup.md
    has the measurements); it is kept for small sets and as a cross-check.

The similarity of two unit vectors is their dot product (cosine); for the ``mllib``
join it is ``1 - d*d/2`` from MLlib's Euclidean distance ``d``. Both give only pairs at
or above the threshold, with their exact similarity: LSH can miss a pair (recall), never
invent one (precision).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sparkvision.dedup.defaults import METHODS

PAIRS_SCHEMA = "a long, b long, similarity double"


@dataclass(frozen=True)
class LshParams:
    """Banded LSH settings (see docs/dedup.md for how they were measured).

    ``width`` is the bucket length in units of ``threshold distance / sqrt(dim)``: the
    typical length of a threshold pair's difference once projected on one direction.
    """

    bands: int = 24
    rows: int = 12
    width: float = 5.0
    seed: int = 17

    def bucket_length(self, threshold: float, dim: int) -> float:
        """Bucket length for cosine ``threshold`` in ``dim`` dimensions.

        >>> round(LshParams().bucket_length(0.88, 1280), 4)
        0.0685
        """
        return self.width * threshold_distance(threshold) / math.sqrt(max(1, dim))


def threshold_distance(threshold: float) -> float:
    """Euclidean distance of two unit vectors whose cosine is ``threshold``."""
    return math.sqrt(max(0.0, 2.0 - 2.0 * threshold))


def normalised(frame, column: str = "embedding"):
    """``frame`` with ``e``: ``column`` divided by its L2 norm (zero vectors dropped).

    MLlib's ``Normalizer`` does the division: a ``transform`` lambda that divides by a norm
    column gets that column's ``aggregate`` inlined into it by the optimizer, which then
    sums every vector once per element (100 s instead of 1 s for 10,000 vectors of 1280).
    """
    from pyspark.ml.feature import Normalizer
    from pyspark.ml.functions import array_to_vector, vector_to_array
    from pyspark.sql import functions as F

    norm = F.sqrt(F.aggregate(F.col(column), F.lit(0.0), lambda acc, x: acc + x * x))
    kept = frame.where(norm > 0).withColumn("_v", array_to_vector(F.col(column)))
    unit = Normalizer(inputCol="_v", outputCol="_u", p=2.0).transform(kept)
    return unit.withColumn("e", vector_to_array(F.col("_u"), "float32")).drop("_v", "_u")


def near_pairs(vectors, threshold: float, *, dim: int, method: str = "banded",
               params: LshParams = LshParams()):
    """Pairs ``(a, b, similarity)``, ``a < b``, with cosine >= ``threshold``, among the
    rows of ``vectors`` (``id`` long, ``e`` unit-length ``array<float>``)."""
    from pyspark.ml.feature import BucketedRandomProjectionLSH
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; found {method!r}")
    with_vec = vectors.withColumn("v", array_to_vector(F.col("e")))
    tables = params.bands * params.rows if method == "banded" else max(1, params.bands)
    model = BucketedRandomProjectionLSH(
        inputCol="v", outputCol="h", numHashTables=tables, seed=params.seed,
        bucketLength=params.bucket_length(threshold, dim),
    ).fit(with_vec)
    if method == "mllib":
        return _mllib_join(model, with_vec, threshold)
    return _banded(model.transform(with_vec), vectors, threshold, params)


def _mllib_join(model, frame, threshold: float):
    from pyspark.sql import functions as F

    # A hair above the threshold distance: approxSimilarityJoin keeps distance < limit.
    limit = threshold_distance(threshold) + 1e-6
    joined = model.approxSimilarityJoin(frame.select("id", "v"), frame.select("id", "v"),
                                        limit, distCol="d")
    return (joined.select(F.col("datasetA.id").alias("a"), F.col("datasetB.id").alias("b"),
                          (1.0 - F.col("d") * F.col("d") / 2.0).alias("similarity"))
            .where((F.col("a") < F.col("b")) & (F.col("similarity") >= threshold - 1e-9)))


def _banded(hashed, vectors, threshold: float, params: LshParams):
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    flat = F.transform("h", lambda x: vector_to_array(x)[0].cast("long"))
    keys = F.array(*[F.xxhash64(F.slice(F.col("hv"), b * params.rows + 1, params.rows))
                     for b in range(params.bands)])
    members = (hashed.select("id", flat.alias("hv")).select("id", F.posexplode(keys))
               .select("id", F.col("pos").alias("band"), F.col("col").alias("key")))
    shared = members.groupBy("band", "key").count().where(F.col("count") > 1).drop("count")
    rows = (members.join(shared, ["band", "key"]).join(vectors.select("id", "e"), "id")
            .repartition("band", "key").sortWithinPartitions("band", "key"))

    def check(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        yield from bucket_pairs(batches, threshold)

    pairs = rows.select("band", "key", "id", "e").mapInPandas(check, PAIRS_SCHEMA)
    return pairs.groupBy("a", "b").agg(F.max("similarity").alias("similarity"))


def bucket_pairs(batches: Iterator[pd.DataFrame], threshold: float) -> Iterator[pd.DataFrame]:
    """Pairs at or above ``threshold`` within each (band, key) bucket of rows sorted by
    bucket; a bucket cut by a batch boundary is finished with the next batch."""
    carry: pd.DataFrame | None = None
    for batch in batches:
        if carry is not None:
            batch = pd.concat([carry, batch], ignore_index=True)
        if batch.empty:
            continue
        last = (batch["band"].iat[-1], batch["key"].iat[-1])
        tail = (batch["band"] == last[0]) & (batch["key"] == last[1])
        carry = batch[tail]
        yield _pairs_in_buckets(batch[~tail], threshold)
    if carry is not None and not carry.empty:
        yield _pairs_in_buckets(carry, threshold)


def _pairs_in_buckets(rows: pd.DataFrame, threshold: float) -> pd.DataFrame:
    found: list[tuple[int, int, float]] = []
    if len(rows):
        ids = rows["id"].to_numpy()
        band, key = rows["band"].to_numpy(), rows["key"].to_numpy()
        starts = np.flatnonzero(np.r_[True, (band[1:] != band[:-1]) | (key[1:] != key[:-1])])
        ends = np.r_[starts[1:], len(rows)]
        vectors = rows["e"].to_numpy()
        for lo, hi in zip(starts, ends, strict=True):
            if hi - lo > 1:
                found.extend(_pairs_of(ids[lo:hi], vectors[lo:hi], threshold))
    return pd.DataFrame(found, columns=["a", "b", "similarity"]).astype(
        {"a": "int64", "b": "int64", "similarity": "float64"})


def _pairs_of(ids: np.ndarray, vectors: np.ndarray,
              threshold: float) -> list[tuple[int, int, float]]:
    matrix = np.stack(list(vectors)).astype(np.float32)
    sims = matrix @ matrix.T
    i, j = np.nonzero(np.triu(sims >= threshold, k=1))
    return [(int(min(ids[x], ids[y])), int(max(ids[x], ids[y])), float(sims[x, y]))
            for x, y in zip(i, j, strict=True)]
