"""Reading what a page needs from an output table in this process (no Spark).

The table is streamed in Arrow record batches; :class:`LocalStats` keeps only bounded
state: counters, the ``cap`` least confident rows of each (label, true label) cell and the
first ``max_failed`` failed files by path. It gives the same numbers and picks the same
rows as :mod:`.gather_spark`.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from sparkvision.htmlreport.data import HIST_BINS, Failure, Thumb, score_bin

COLUMNS = ("path", "label", "score", "label_true", "error", "error_kind")


class LocalStats:
    """Bounded running totals over the rows of an output table."""

    def __init__(self, cap: int, max_failed: int) -> None:
        self.cap = cap
        self.max_failed = max_failed
        self.label_counts: dict[str, int] = {}
        self.histograms: dict[str, list[int]] = {}
        self.confusion: dict[str, dict[str, int]] = {}
        self.cells: dict[tuple[str, str | None], int] = {}
        self.failed_by_kind: dict[str, int] = {}
        self._cells: dict[tuple[str, str | None], list] = {}
        self._failed: list = []

    def add(self, row: dict) -> None:
        if row.get("error") is not None:
            kind = row.get("error_kind") or "unknown"
            self.failed_by_kind[kind] = self.failed_by_kind.get(kind, 0) + 1
            item = _Desc(row["path"]), row["path"], kind, row["error"]
            _push_bounded(self._failed, item, self.max_failed)
            return
        label = row.get("label")
        if label is None:
            return
        score = _float(row.get("score"))
        label_true = row.get("label_true")
        self.label_counts[label] = self.label_counts.get(label, 0) + 1
        hist = self.histograms.setdefault(label, [0] * HIST_BINS)
        if score is not None:
            hist[score_bin(score)] += 1
        key = (label, label_true)
        self.cells[key] = self.cells.get(key, 0) + 1
        if label_true is not None:
            row_ = self.confusion.setdefault(label_true, {})
            row_[label] = row_.get(label, 0) + 1
        rank = (-(score if score is not None else float("inf")), _Desc(row["path"]))
        _push_bounded(self._cells.setdefault(key, []), (rank, row["path"], score), self.cap)

    def stats(self) -> dict:
        return {"failed_by_kind": self.failed_by_kind, "label_counts": self.label_counts,
                "histograms": self.histograms, "confusion": self.confusion, "cells": self.cells}

    def candidates(self) -> list[Thumb]:
        return [Thumb(path, label, score, label_true)
                for (label, label_true), heap in self._cells.items()
                for _, path, score in heap]

    def failures(self) -> list[Failure]:
        return [Failure(path, kind, message)
                for _, path, kind, message in sorted(self._failed, key=lambda x: x[1])]


def read_rows(out: str, fmt: str) -> Iterator[dict]:
    """The rows of the output at ``out`` (only :data:`COLUMNS` it has), streamed."""
    import pyarrow.dataset as ds

    if fmt == "delta":
        from deltalake import DeltaTable

        dataset = ds.dataset(DeltaTable(out).file_uris(), format="parquet")
    else:
        dataset = ds.dataset(out, format=fmt, exclude_invalid_files=False,
                             ignore_prefixes=[".", "_"])
    columns = [c for c in COLUMNS if c in dataset.schema.names]
    for batch in dataset.to_batches(columns=columns):
        for row in batch.to_pylist():
            if fmt == "csv":  # CSV writes a missing value as an empty field
                row = {k: (None if v == "" else v) for k, v in row.items()}
            yield row


def _push_bounded(heap: list, item, limit: int) -> None:
    """Keep the ``limit`` smallest items (by their natural order), negated on the heap."""
    if len(heap) < limit:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)


class _Desc:
    """A string ordered backwards, so a min-heap keeps the smallest strings."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _Desc) -> bool:
        return self.text > other.text

    def __gt__(self, other: _Desc) -> bool:
        return self.text < other.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.text == other.text


def _float(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number
