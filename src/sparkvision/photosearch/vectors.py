"""The table searched: an ``embed`` output (or any DataFrame of ``path`` and
``embedding``), the model it was made with where the output says so, and its length.

``sparkvision embed`` leaves two files beside its table that name the model:
``_sparkvision_facts.json`` (written by the command line: the ``--model`` as given, its
engine and precision) and ``_sparkvision_run.json`` (Spark executions: the resolved
model's name). The queries are embedded with that model unless one is asked for, and a
query whose length differs from the table's is refused before any search runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sparkvision.errors import ConfigError, InputError
from sparkvision.htmlreport.facts import FACTS, RUN_INFO, detect_format, read_json
from sparkvision.sinks.tables import read_table

#: the model the built-in embeddings come from
DEFAULT_MODEL = "embedding"


@dataclass(frozen=True)
class Recorded:
    """What an ``embed`` output says about the model that made it (``None``: nothing)."""

    model: str | None = None
    engine: str | None = None
    precision: str | None = None
    source: str | None = None

    def describe(self) -> str:
        if not self.model:
            return "the vectors do not record their model"
        return f"the vectors were made with model '{self.model}' (recorded in {self.source})"


def recorded_model(path: str) -> Recorded:
    """The model recorded beside the ``embed`` output at ``path``, if any.

    >>> recorded_model("/nonexistent/vectors.parquet").model is None
    True
    """
    if not os.path.isdir(path):
        return Recorded()
    facts, run = read_json(path, FACTS), read_json(path, RUN_INFO)
    if facts.get("model") and facts.get("task", "embed") == "embed":
        return Recorded(str(facts["model"]), facts.get("engine"), facts.get("precision"),
                        os.path.join(path, FACTS))
    if run.get("model") and run.get("task") == "embed":
        return Recorded(str(run["model"]), source=os.path.join(path, RUN_INFO))
    return Recorded()


def read_vectors(spark: Any, path: str) -> Any:
    """The ``embed`` output at ``path`` as a DataFrame with ``path`` and ``embedding``."""
    check_exists(path)
    fmt = detect_format(path) if os.path.isdir(path) else "parquet"
    if "://" in path:
        from sparkvision.sinks.tables import format_for

        fmt = format_for(path, None)
    return vector_frame(read_table(spark, path, fmt), where=f"`vectors` '{path}'")


def check_exists(path: str) -> None:
    """Refuse a local ``vectors`` path that is not there (before any session starts)."""
    if "://" not in path and not os.path.exists(path):
        raise InputError(f"`vectors` '{path}' does not exist: expected the `out` of an "
                         "earlier 'sparkvision embed' run")


def vector_frame(frame: Any, *, where: str = "the vectors") -> Any:
    """``frame`` checked to hold ``path`` and ``embedding`` (JSON text in CSV read back as
    an array); rows with an ``error`` are dropped."""
    from pyspark.sql import functions as F

    missing = {"path", "embedding"} - set(frame.columns)
    if missing:
        raise InputError(
            f"{where} is not an embed output: expected columns path and embedding; found "
            f"{', '.join(frame.columns)}. Make it with 'sparkvision embed'")
    if dict(frame.dtypes)["embedding"] == "string":  # CSV keeps arrays as JSON text
        frame = frame.withColumn("embedding", F.from_json("embedding", "array<float>"))
    if "error" in frame.columns:
        frame = frame.where(F.col("error").isNull())
    return frame.select("path", "embedding")


def dimension(vectors: Any) -> int:
    """The length of the table's vectors (its first row with one)."""
    from pyspark.sql import functions as F

    first = (vectors.where(F.col("embedding").isNotNull())
             .select(F.size("embedding").alias("n")).first())
    if first is None:
        raise InputError("the vectors table holds no vector: nothing to search")
    return int(first["n"])


def check_dimension(found: int, expected: int, model: str, recorded: Recorded) -> None:
    """Refuse queries of another length than the vectors.

    >>> check_dimension(512, 1280, "mynet.onnx", Recorded())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sparkvision.errors.ConfigError: the vectors hold 1280 numbers per image but model ...
    """
    if found == expected:
        return
    said = recorded.describe()
    raise ConfigError(
        f"the vectors hold {expected} numbers per image but model '{model}' gives "
        f"{found}: the queries must be embedded with the model that made the vectors. "
        f"{said[0].upper()}{said[1:]}; pass that model as `model` (with the same "
        "options as the embed run), or embed the photos again with this one")
