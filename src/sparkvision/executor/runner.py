"""The batch runner: image bytes or paths in, one result row per input out.

:func:`predict_frame` is the single function that every execution path calls (the Spark
UDFs and the single-process runner): read -> decode/preprocess -> engine -> head. A failing
image never raises; its row gets ``error`` and ``error_kind`` and empty results.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..config import ModelSpec
from ..imaging import prepare_batch
from ..models.heads import EMPTY, apply_head
from ..sources.reader import read_image_bytes
from . import faults
from .cache import get_engine


def result_columns(head: str) -> list[str]:
    return [*EMPTY[head], "error", "error_kind"]


def predict_frame(items: Sequence[object], spec: ModelSpec, *, batch_size: int) -> pd.DataFrame:
    """Predict for ``items`` (each ``bytes`` content, a ``str`` path, or ``None``).

    Returns a DataFrame with one row per item, in order, with :func:`result_columns`.
    """
    engine = get_engine(spec)
    parts = [
        _predict_chunk(items[start : start + batch_size], spec, engine)
        for start in range(0, len(items), batch_size)
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in result_columns(spec.head)})
    return pd.concat(parts, ignore_index=True)


def _predict_chunk(items: Sequence[object], spec: ModelSpec, engine) -> pd.DataFrame:
    faults.before_batch()  # a no-op unless SPARKVISION_FAULT_EXIT_AT_BATCH is set
    # A generator: each file is read just before it is decoded, so one model batch holds
    # the bytes of one file at a time, not of the whole batch.
    loaded = (_load(item) for item in items)
    batch, ok, failed = prepare_batch(loaded, spec.preprocess)
    columns: dict[str, list] = {c: [v] * len(items) for c, v in EMPTY[spec.head].items()}
    errors: list[str | None] = [None] * len(items)
    kinds: list[str | None] = [None] * len(items)
    if ok:
        try:
            results = apply_head(spec.head, engine(batch))
        except Exception as exc:  # noqa: BLE001 - the batch fails, the job goes on
            results = None
            for i in ok:
                failed[i] = exc
        if results is not None:
            for name, values in results.items():
                col = columns[name]
                for j, i in enumerate(ok):
                    col[i] = values[j]
    for i, exc in failed.items():
        errors[i] = str(exc) or type(exc).__name__
        kinds[i] = getattr(exc, "kind", None) or "model_failed"
    frame = pd.DataFrame(columns)
    frame["error"] = errors
    frame["error_kind"] = kinds
    return frame


def _load(item: object) -> bytes | Exception:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str):
        try:
            return read_image_bytes(item)
        except Exception as exc:  # noqa: BLE001 - becomes the row's error
            return exc
    from ..imaging import ImageProblem

    if item is None or (isinstance(item, float) and np.isnan(item)):
        return ImageProblem("missing", "no image content and no path in this row")
    return ImageProblem(
        "bad_input", f"expected image bytes or a path string, found {type(item).__name__}"
    )
