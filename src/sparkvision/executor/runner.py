"""The batch runner: image bytes, paths or decoded pixels in, one result row per input out.

:func:`predict_frame` is the single function that every execution path calls (the Spark
UDFs and the single-process runner): read -> decode/preprocess -> engine -> head. A failing
image never raises; its row gets ``error`` and ``error_kind`` and empty results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

import sparkvision.executor.faults as faults
from sparkvision.config import ModelSpec
from sparkvision.executor.cache import get_engine
from sparkvision.imaging import prepare_batch
from sparkvision.models.heads import EMPTY, apply_head
from sparkvision.runtime.timing import CLOCK
from sparkvision.storage.reader import read_image_bytes
from sparkvision.storage.remote import read_ahead


def result_columns(head: str) -> list[str]:
    return [*EMPTY[head], "error", "error_kind"]


def predict_frame(items: Sequence[object], spec: ModelSpec, *, batch_size: int,
                  on_batch: Callable[[int], None] | None = None,
                  storage: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Predict for ``items``: each ``bytes`` content, a ``str`` path, a numpy array of
    already decoded pixels (from Spark's image source, see
    :mod:`sparkvision.sources.spark_images`), an exception standing for an input that
    could not be turned into one (it becomes the row's error), or ``None``.

    Returns a DataFrame with one row per item, in order, with :func:`result_columns`.
    ``on_batch`` is called with the number of images of each model batch once it is done
    (the progress count, :mod:`sparkvision.runtime.progress`). Object-store URIs are read
    with ``storage`` options, many at once and one model batch ahead
    (:func:`sparkvision.storage.remote.read_ahead`).
    """
    with CLOCK.timed("load"):
        engine = get_engine(spec)
    columns: dict[str, list] = {c: [] for c in result_columns(spec.head)}
    chunks = [items[start : start + batch_size] for start in range(0, len(items), batch_size)]
    reader = read_ahead(chunks, storage)
    while True:
        with CLOCK.timed("read"):  # waiting for object-store bytes fetched ahead
            chunk = next(reader, None)
        if chunk is None:
            break
        for name, values in _predict_chunk(chunk, spec, engine).items():
            columns[name].extend(values)
        if on_batch is not None:
            on_batch(len(chunk))
    with CLOCK.timed("rows"):
        return pd.DataFrame(columns)


def _predict_chunk(items: Sequence[object], spec: ModelSpec, engine) -> dict[str, list]:
    faults.before_batch()  # a no-op unless SPARKVISION_FAULT_EXIT_AT_BATCH is set
    # A generator: each local file is read just before it is decoded, so one model batch
    # holds the bytes of one local file at a time, not of the whole batch (URIs arrive
    # already fetched, see read_ahead).
    reads = [0.0]
    loaded = (_timed_load(item, reads) for item in items)
    started = time.perf_counter()
    batch, ok, failed = prepare_batch(loaded, spec.preprocess)
    CLOCK.add("read", reads[0])
    CLOCK.add("decode", time.perf_counter() - started - reads[0])
    started = time.perf_counter()
    columns: dict[str, list] = {c: [v] * len(items) for c, v in EMPTY[spec.head].items()}
    if ok:
        try:
            with CLOCK.timed("engine"):
                raw = engine(batch)
            started = time.perf_counter()
            results = apply_head(spec.head, raw, spec)
        except Exception as exc:  # noqa: BLE001 - the batch fails, the job goes on
            results = {}
            for i in ok:
                failed[i] = exc
        for name, values in results.items():
            col = columns[name]
            for j, i in enumerate(ok):
                col[i] = values[j]
    columns["error"] = [None] * len(items)
    columns["error_kind"] = [None] * len(items)
    for i, problem in failed.items():
        columns["error"][i] = str(problem) or type(problem).__name__
        columns["error_kind"][i] = getattr(problem, "kind", None) or "model_failed"
    CLOCK.add("rows", time.perf_counter() - started)
    return columns


def _timed_load(item: object, reads: list[float]) -> bytes | np.ndarray | Exception:
    started = time.perf_counter()
    try:
        return _load(item)
    finally:
        reads[0] += time.perf_counter() - started


def _load(item: object) -> bytes | np.ndarray | Exception:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, (np.ndarray, Exception)):
        return item
    if isinstance(item, str):
        try:
            return read_image_bytes(item)
        except Exception as exc:  # noqa: BLE001 - becomes the row's error
            return exc
    from sparkvision.imaging import ImageProblem

    if item is None or (isinstance(item, float) and np.isnan(item)):
        return ImageProblem("missing", "no image content and no path in this row")
    return ImageProblem(
        "bad_input", f"expected image bytes or a path string, found {type(item).__name__}"
    )
