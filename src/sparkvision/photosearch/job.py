"""``sparkvision search`` and :func:`sparkvision.search`: photos or sentences in, their
nearest neighbours in an ``embed`` output out.

1. the vectors table is read and its length taken from its first vector; the model it
   was made with is read from the files ``embed`` leaves beside it (:mod:`.vectors`);
2. the query photos are listed and embedded on Spark with that model (or the one asked
   for), by the same UDF as ``embed`` (:mod:`.queries`); a query of another length than
   the vectors is refused before any search; sentences are embedded in this process by
   the text tower of the same CLIP-family model (:func:`sparkvision.models.clip.text_vectors`);
3. the exact top-k per query is computed on the executors (:mod:`.topk`); a query whose
   photo failed gets one row with its error;
4. the results table is written like every output, ``_summary.json`` beside it.

``vectors`` may also be an index folder made by ``sparkvision index`` (:mod:`.index`):
then the model comes from its record and step 3 is answered by the index, in this process.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sparkvision.errors import ConfigError
from sparkvision.options import ModelRequest, SparkOptions
from sparkvision.photosearch.index import index_frame, is_index, load_index
from sparkvision.photosearch.queries import Query, embed_queries, query_paths
from sparkvision.photosearch.topk import RESULT_SCHEMA, in_order, top_k
from sparkvision.photosearch.vectors import (
    DEFAULT_MODEL,
    Recorded,
    check_dimension,
    check_exists,
    dimension,
    read_vectors,
    recorded_model,
)

DEFAULT_K = 10
@dataclass(frozen=True)
class SearchJob:
    vectors: str
    queries: tuple[str, ...]
    out: str
    #: sentences to search by (a CLIP-family model embeds them; see models/clip.py)
    texts: tuple[str, ...] = ()
    k: int = DEFAULT_K
    #: ``model=None``: the model the vectors record, else the built-in embedding
    model: ModelRequest = field(default_factory=lambda: ModelRequest(None, "embed"))
    format: str | None = None
    overwrite: bool = False
    extensions: tuple[str, ...] | None = None
    spark: SparkOptions = field(default_factory=SparkOptions)

    def __post_init__(self) -> None:
        if self.model.task != "embed":
            object.__setattr__(self, "model", self.model.with_(task="embed"))
        check_k(self.k)


@dataclass
class SearchSummary:
    """What a search did; written as ``_summary.json`` beside the results."""

    queries: int
    ok: int
    failed: int
    k: int
    dimension: int
    model: str
    model_source: str
    vectors: str
    output: str
    format: str
    seconds: float
    #: the queries that are sentences, not photos
    texts: list[str] = field(default_factory=list)
    #: a few results to print: (query, rank, path, similarity)
    preview: list[tuple[str, int, str, float]] = field(default_factory=list)

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("preview")
        return json.dumps(data, indent=2, sort_keys=True)

    def render(self) -> str:
        lines = [f"queries: {self.queries}   ok: {self.ok}   failed: {self.failed}   "
                 f"top {self.k}   time: {self.seconds:.1f} s",
                 f"model: {self.model} ({self.model_source}), {self.dimension} numbers per "
                 "image"]
        last = None
        for query, rank, path, similarity in self.preview:
            if query != last:
                lines.append(f"  {query}")
                last = query
            lines.append(f"    {rank:>3}  {similarity:.4f}  {path}")
        lines.append(f"results: {self.output} ({self.format})")
        return "\n".join(lines)


def check_k(k: int) -> int:
    """``k`` if it is a whole number >= 1.

    >>> check_k(0)
    Traceback (most recent call last):
    ...
    sparkvision.errors.ConfigError: `k` must be a whole number >= 1; found 0
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"`k` must be a whole number >= 1; found {k!r}")
    return k


def choose_model(request: ModelRequest, recorded: Recorded) -> tuple[ModelRequest, str]:
    """The request the queries are embedded with, and where its model came from. A model
    taken from the record brings the recorded engine and precision where the request has
    the defaults (``auto``, ``fp32``).

    >>> choose_model(ModelRequest(None, "embed"), Recorded())[1]
    'the default'
    >>> made, source = choose_model(ModelRequest(None, "embed"),
    ...                             Recorded("mynet.onnx", "onnx", "int8", source="x"))
    >>> made.model, made.engine, made.options.precision, source
    ('mynet.onnx', 'onnx', 'int8', 'recorded by embed')
    """
    if request.model is not None:
        return request, "given"
    if not recorded.model:
        return request.with_(model=DEFAULT_MODEL), "the default"
    made = request.with_(model=recorded.model)
    if request.engine == "auto" and recorded.engine:
        made = made.with_(engine=str(recorded.engine))
    if request.options.precision == "fp32" and recorded.precision:
        made = made.with_(options=made.options.with_(precision=str(recorded.precision)))
    return made, "recorded by embed"


def search_frame(spark: Any, vectors: Any, queries: Sequence[Query], k: int) -> Any:
    """The results DataFrame (``query``, ``rank``, ``path``, ``similarity``, ``error``) of
    ``queries`` over ``vectors``: every query's top ``k``, or its one error row, in the
    order of ``queries`` then rank."""
    good = [i for i, q in enumerate(queries) if q.vector is not None]
    failed = [(i, q.path, None, None, None, q.error or "no embedding")
              for i, q in enumerate(queries) if q.vector is None]
    schema = f"q int, {RESULT_SCHEMA}"
    parts = [spark.createDataFrame(failed, schema)] if failed or not good else []
    if good:
        matrix = np.stack([np.asarray(queries[i].vector, dtype=np.float64) for i in good])
        parts.append(top_k(vectors, matrix, [queries[i].path for i in good], k,
                           numbers=good))
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return in_order(result)


def prepared_queries(spark: Any, vectors: Any, paths: Sequence[str], request: ModelRequest,
                     recorded: Recorded, storage: Any = None,
                     texts: Sequence[str] = (), expected: int | None = None,
                     ) -> tuple[list[Query], int]:
    """The queries (``paths`` embedded on Spark, then ``texts`` embedded here by the same
    CLIP-family model) checked against the length of ``vectors`` (or ``expected``, where
    ``vectors`` is ``None``); and that length."""
    from sparkvision.jobs.prepare import prepare_model

    expected = dimension(vectors) if expected is None else expected
    queries: list[Query] = []
    if paths:
        spec = prepare_model(request, spark)
        queries += embed_queries(spark, paths, spec, batch_size=request.batch_size,
                                 storage=storage)
    if texts:
        from sparkvision.models.clip import text_vectors

        model = request.model if isinstance(request.model, str) else str(request.model)
        queries += [Query(path=text, vector=vector)
                    for text, vector in zip(texts, text_vectors(model, texts), strict=True)]
    for query in queries:
        if query.vector is not None:
            check_dimension(len(query.vector), expected, str(request.model), recorded)
    return queries, expected


def run_search(job: SearchJob, spark: Any = None) -> SearchSummary:
    """Run ``job`` and return its summary (also written as ``OUT/_summary.json``)."""
    from sparkvision.runtime.session import open_session
    from sparkvision.sinks import format_for, write_table
    from sparkvision.sinks.tables import check_writable

    started = time.monotonic()
    fmt = format_for(job.out, job.format)
    mode = "overwrite" if job.overwrite else "errorifexists"
    check_writable(job.out, mode)
    check_exists(job.vectors)
    if not job.queries and not job.texts:
        raise ConfigError("search needs queries: pass `image` with photos (files, folders "
                          "or globs), or `text` with a sentence")
    paths = query_paths(job.queries, extensions=job.extensions) if job.queries else []
    loaded = load_index(job.vectors) if is_index(job.vectors) else None
    recorded = loaded.recorded() if loaded else recorded_model(job.vectors)
    request, source = choose_model(job.model, recorded)
    spark = spark or open_session(job.spark, batch_size=request.batch_size)
    vectors = None if loaded else read_vectors(spark, job.vectors)
    queries, dim = prepared_queries(spark, vectors, paths, request, recorded,
                                    storage=job.spark.storage, texts=job.texts,
                                    expected=loaded.dimension if loaded else None)
    results = (index_frame(spark, loaded, queries, job.k) if loaded
               else search_frame(spark, vectors, queries, job.k))
    write_table(results.coalesce(1), job.out, fmt, mode=mode)
    ok = sum(q.vector is not None for q in queries)
    summary = SearchSummary(
        queries=len(queries), ok=ok, failed=len(queries) - ok, k=job.k, dimension=dim,
        model=str(request.model), model_source=source, vectors=job.vectors, output=job.out,
        format=fmt, seconds=round(time.monotonic() - started, 3), texts=list(job.texts))
    summary.preview = _preview(spark, job.out, fmt, queries)
    if os.path.isdir(job.out):
        with open(os.path.join(job.out, "_summary.json"), "w", encoding="utf-8") as fh:
            fh.write(summary.to_json())
    return summary


def _preview(spark: Any, out: str, fmt: str, queries: Sequence[Query], *, first: int = 5,
             ranks: int = 3) -> list[tuple[str, int, str, float]]:
    """The best ``ranks`` results of the ``first`` queries that have results."""
    from pyspark.sql import functions as F

    from sparkvision.sinks.tables import read_table

    shown = [q.path for q in queries if q.vector is not None][:first]
    if not shown:
        return []
    rows = (read_table(spark, out, fmt)
            .where(F.col("query").isin(shown) & (F.col("rank").cast("int") <= ranks))
            .select("query", "rank", "path", "similarity").collect())
    order = {path: i for i, path in enumerate(shown)}
    picked = [(r["query"], int(r["rank"]), r["path"], float(r["similarity"])) for r in rows]
    return sorted(picked, key=lambda row: (order[row[0]], row[1]))
