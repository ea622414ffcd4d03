"""``sparkvision index``: an approximate nearest-neighbour index of an ``embed`` output, kept
in one folder and searched in one process (``sparkvision search INDEX``).

The vectors are read with Spark, packed into bytes on the executors and brought to this
process a partition at a time (``toLocalIterator``); each is L2-normalised to float32, so
the inner product is the cosine similarity. The index is faiss's HNSW graph over the
full vectors (``IndexHNSWFlat``, inner product): a query's similarities are exact, only
which rows it visits is approximate. faiss was chosen over usearch by measurement
(docs/benchmarks.md): on the same vectors and settings it built about 3x faster and
answered faster at the same recall.

Its recall is measured while it is built: ``recall_queries`` vectors drawn at random are
held out, the graph is built over the others, and each held-out vector's 10 nearest by
the graph are compared with its exact 10 nearest (a matrix product over the same rows);
then the held-out vectors are added, so the index holds every row.

The folder holds ``vectors.faiss`` (the graph and the vectors), ``paths.parquet`` (the
path of each row, in the index's order) and ``_sparkvision_index.json`` (what it was made
from: the model the vectors record, the length, the count, the settings and the recall).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sparkvision.errors import ConfigError, InputError, MissingExtraError, OutputError
from sparkvision.photosearch.queries import Query
from sparkvision.photosearch.topk import RESULT_SCHEMA, in_order, unit_rows
from sparkvision.photosearch.vectors import Recorded, read_vectors, recorded_model

INDEX_FILE = "vectors.faiss"
PATHS_FILE = "paths.parquet"
RECORD_FILE = "_sparkvision_index.json"
KIND = "sparkvision-index"
RECALL_K = 10


@dataclass(frozen=True)
class IndexSettings:
    """HNSW's settings: ``connections`` links per node (faiss's M), ``ef_construction``
    candidates kept while linking, ``ef_search`` candidates kept while searching (at
    least ``k``). The defaults reach recall@10 >= 0.95 on 100,000 1280-d vectors
    (docs/benchmarks.md); more of either ``ef`` is slower and finds more."""

    connections: int = 32
    ef_construction: int = 160
    ef_search: int = 192

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ConfigError(f"`{name}` must be a whole number >= 2; found {value!r}")


@dataclass
class IndexSummary:
    """What ``sparkvision index`` built; its JSON record is ``_sparkvision_index.json``."""

    vectors: str
    output: str
    count: int
    dimension: int
    settings: dict[str, int]
    recall_at_10: float | None
    recall_queries: int
    build_seconds: float
    seconds: float
    skipped: int = 0
    model: str | None = None
    engine: str | None = None
    precision: str | None = None
    library: str = "faiss"
    metric: str = "cosine (inner product of L2-normalised float32 vectors)"
    kind: str = KIND
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def render(self) -> str:
        recall = ("not measured (too few vectors)" if self.recall_at_10 is None else
                  f"{self.recall_at_10:.3f} on {self.recall_queries} held-out vectors "
                  "(against exact search over the others)")
        s = self.settings
        return "\n".join([
            f"index: {self.count} vectors of {self.dimension} numbers, built in "
            f"{self.build_seconds:.1f} s (total {self.seconds:.1f} s)"
            + (f"; {self.skipped} without a direction skipped" if self.skipped else ""),
            f"HNSW ({self.library}): connections {s['connections']}, ef_construction "
            f"{s['ef_construction']}, ef_search {s['ef_search']}",
            f"recall@10: {recall}",
            f"model: {self.model or '(not recorded)'}",
            f"index: {self.output}"])


def faiss_module() -> Any:
    """faiss, or the error that says which extra brings it."""
    try:
        import faiss
    except ImportError:
        raise MissingExtraError("faiss", "index", "an approximate index") from None
    return faiss


def is_index(path: str) -> bool:
    """Whether ``path`` is a folder written by :func:`build_index`.

    >>> is_index("/nonexistent")
    False
    """
    return os.path.isfile(os.path.join(path, RECORD_FILE))


# -- building ---------------------------------------------------------------------------

def _packed(dim: int):
    """The ``mapInPandas`` function: rows of ``path``, ``embedding`` -> ``path``, ``vector``
    (float32 bytes); a vector of another length than ``dim`` is an error."""
    import pandas as pd

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            batch = batch[batch["embedding"].notna() & batch["path"].notna()]
            lengths = batch["embedding"].map(len).to_numpy()
            if (lengths != dim).any():
                raise ValueError(f"a vector of {int(lengths[lengths != dim][0])} numbers "
                                 f"where the first has {dim}: the table mixes models")
            yield pd.DataFrame({
                "path": batch["path"].astype(str),
                "vector": [np.asarray(v, dtype="<f4").tobytes() for v in batch["embedding"]]})

    return run


def collect_vectors(vectors: Any, dim: int) -> tuple[np.ndarray, list[str], int]:
    """``(unit, paths, skipped)``: every vector of ``vectors`` (``path``, ``embedding``)
    L2-normalised to float32, in one array, their paths, and how many rows had no
    direction (all zeros, not finite). Brought here one partition at a time."""
    from pyspark.sql import functions as F

    packed = (vectors.select(F.col("path").cast("string").alias("path"),
                             F.col("embedding").cast("array<float>").alias("embedding"))
              .mapInPandas(_packed(dim), "path string, vector binary"))
    chunks: list[np.ndarray] = []
    paths: list[str] = []
    skipped = 0
    rows: list[Any] = []

    def flush() -> None:
        nonlocal skipped
        if not rows:
            return
        matrix = np.frombuffer(b"".join(r["vector"] for r in rows), dtype="<f4")
        unit, kept = unit_rows(matrix.reshape(len(rows), dim))
        chunks.append(unit.astype(np.float32))
        paths.extend(r["path"] for r, keep in zip(rows, kept, strict=True) if keep)
        skipped += int((~kept).sum())
        rows.clear()

    for row in packed.toLocalIterator(prefetchPartitions=True):
        rows.append(row)
        if len(rows) >= 4096:
            flush()
    flush()
    if not chunks:
        raise InputError("the vectors table holds no vector: nothing to index")
    return np.concatenate(chunks), paths, skipped


def exact_top(units: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the exact ``k`` nearest rows of ``units`` to each query (ties in
    row order), ``(queries, k)``.

    >>> exact_top(np.eye(3, dtype=np.float32), np.array([[0, 1, 0.1]], np.float32), 2)
    array([[1, 2]])
    """
    sims = queries @ units.T
    k = min(k, units.shape[0])
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """The share of the exact neighbours ``truth`` that ``found`` holds, per query, averaged.

    >>> recall_at(np.array([[1, 2, 3]]), np.array([[3, 2, 9]]))
    0.6666666666666666
    """
    k = truth.shape[1]
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / k
                          for f, t in zip(found, truth, strict=True)]))


def hnsw(units: np.ndarray, settings: IndexSettings) -> Any:
    """An empty faiss HNSW index (inner product) for vectors like ``units``."""
    faiss = faiss_module()
    index = faiss.IndexHNSWFlat(units.shape[1], settings.connections,
                                faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = settings.ef_construction
    index.hnsw.efSearch = settings.ef_search
    return index


def build_from_units(units: np.ndarray, settings: IndexSettings, *, recall_queries: int = 200,
                     seed: int = 0) -> tuple[Any, np.ndarray, float | None, int]:
    """``(index, order, recall, held)``: an HNSW index of every row of ``units`` (index
    id ``i`` is row ``order[i]``), its recall@10 measured on ``held`` rows held out while
    the others were indexed (``None`` when too few rows to hold any out)."""
    n = units.shape[0]
    held = min(recall_queries, n // 10) if n > RECALL_K * 2 else 0
    rng = np.random.default_rng(seed)
    out = np.sort(rng.choice(n, size=held, replace=False)) if held else np.empty(0, int)
    mask = np.ones(n, dtype=bool)
    mask[out] = False
    order = np.concatenate([np.flatnonzero(mask), out])
    index = hnsw(units, settings)
    index.add(np.ascontiguousarray(units[order[:n - held]]))
    recall = None
    if held:
        queries = np.ascontiguousarray(units[out])
        _, found = index.search(queries, RECALL_K)
        truth = exact_top(units[order[:n - held]], queries, RECALL_K)
        recall = recall_at(found, truth)
        index.add(queries)
    return index, order, recall, held


def build_index(vectors: str, out: str, *, settings: IndexSettings | None = None,
                spark: Any = None, overwrite: bool = False,
                recall_queries: int = 200) -> IndexSummary:
    """Build the index of the ``embed`` output ``vectors`` into the folder ``out``."""
    import pandas as pd

    from sparkvision.photosearch.vectors import dimension
    from sparkvision.runtime.session import open_session

    started = time.monotonic()
    settings = settings or IndexSettings()
    faiss = faiss_module()
    if "://" in out:
        raise ConfigError(f"`out` '{out}': an index is a folder on this machine, not a URI")
    if os.path.exists(out) and not overwrite:
        raise OutputError(f"`out` '{out}' already exists; pass `overwrite` to replace it")
    recorded = recorded_model(vectors)
    spark = spark or open_session()
    frame = read_vectors(spark, vectors)
    dim = dimension(frame)
    units, paths, skipped = collect_vectors(frame, dim)
    built = time.monotonic()
    index, order, recall, held = build_from_units(units, settings,
                                                  recall_queries=recall_queries)
    build_seconds = time.monotonic() - built
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    faiss.write_index(index, os.path.join(out, INDEX_FILE))
    pd.DataFrame({"path": np.asarray(paths, dtype=object)[order]}).to_parquet(
        os.path.join(out, PATHS_FILE), index=False)
    summary = IndexSummary(
        vectors=vectors, output=out, count=len(paths), dimension=dim,
        settings=asdict(settings), recall_at_10=None if recall is None else round(recall, 4),
        recall_queries=held, build_seconds=round(build_seconds, 3),
        seconds=round(time.monotonic() - started, 3), skipped=skipped,
        model=recorded.model, engine=recorded.engine, precision=recorded.precision,
        extra={"faiss": getattr(faiss, "__version__", "")})
    with open(os.path.join(out, RECORD_FILE), "w", encoding="utf-8") as fh:
        fh.write(summary.to_json())
    return summary


# -- searching --------------------------------------------------------------------------

@dataclass
class LoadedIndex:
    """An index folder read back: the faiss index, its paths, its record."""

    folder: str
    index: Any
    paths: np.ndarray
    record: dict[str, Any]

    @property
    def dimension(self) -> int:
        return int(self.record["dimension"])

    def recorded(self) -> Recorded:
        """The model the indexed vectors record, as :func:`recorded_model` gives it."""
        model = self.record.get("model")
        return Recorded(model, self.record.get("engine"), self.record.get("precision"),
                        os.path.join(self.folder, RECORD_FILE) if model else None)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """The ``k`` nearest ``(path, similarity)`` of each query row, similarity
        descending then path ascending."""
        units, kept = unit_rows(queries)
        if not kept.all():
            raise InputError("a query vector is all zeros or not finite: it has no "
                             "direction to compare")
        settings = self.record.get("settings", {})
        self.index.hnsw.efSearch = max(int(settings.get("ef_search", 64)), k)
        sims, ids = self.index.search(np.ascontiguousarray(units, dtype=np.float32), k)
        found = []
        for row_sims, row_ids in zip(sims, ids, strict=True):
            hits = [(str(self.paths[i]), float(s)) for s, i in zip(row_sims, row_ids,
                                                                   strict=True) if i >= 0]
            found.append(sorted(hits, key=lambda h: (-h[1], h[0])))
        return found


def load_index(folder: str) -> LoadedIndex:
    """The index folder ``folder`` (see :func:`build_index`)."""
    import pandas as pd

    faiss = faiss_module()
    with open(os.path.join(folder, RECORD_FILE), encoding="utf-8") as fh:
        record = json.load(fh)
    if record.get("kind") != KIND:
        raise InputError(f"'{folder}' is not a sparkvision index (no '{KIND}' record)")
    index = faiss.read_index(os.path.join(folder, INDEX_FILE))
    paths = pd.read_parquet(os.path.join(folder, PATHS_FILE))["path"].to_numpy(dtype=object)
    return LoadedIndex(folder, index, paths, record)


def index_frame(spark: Any, loaded: LoadedIndex, queries: Sequence[Query], k: int) -> Any:
    """The results DataFrame of ``queries`` answered by ``loaded`` (the columns and order
    of :func:`sparkvision.photosearch.job.search_frame`)."""
    good = [i for i, q in enumerate(queries) if q.vector is not None]
    rows: list[tuple[Any, ...]] = [(i, q.path, None, None, None, q.error or "no embedding")
                                   for i, q in enumerate(queries) if q.vector is None]
    if good:
        matrix = np.stack([np.asarray(queries[i].vector, dtype=np.float64) for i in good])
        for i, hits in zip(good, loaded.search(matrix, k), strict=True):
            rows += [(i, queries[i].path, rank, path, sim, None)
                     for rank, (path, sim) in enumerate(hits, start=1)]
    return in_order(spark.createDataFrame(rows, f"q int, {RESULT_SCHEMA}"))
