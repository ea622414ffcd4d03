"""Precision and recall of a grouping against a labelled near-duplicate set.

Counted over pairs of files: a pair is *predicted* when both files are in the same group
of the ``dedup`` output, *true* when both belong to the same family of the set's
``truth.csv`` (see :mod:`.nearset`). Precision = predicted pairs that are true / predicted
pairs; recall = true pairs that are predicted / true pairs.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class PairScore:
    precision: float
    recall: float
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int


def read_truth(path: str) -> dict[str, str]:
    """file path -> family, from a ``truth.csv``."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["path"]: row["family"] for row in csv.DictReader(fh)}


def pairs_of(groups: Iterable[tuple[str, object]]) -> set[tuple[str, str]]:
    """Every unordered pair of paths sharing a group, from ``(path, group)`` rows."""
    members: dict[object, list[str]] = defaultdict(list)
    for path, group in groups:
        members[group].append(path)
    return {(min(a, b), max(a, b)) for paths in members.values()
            for a, b in combinations(paths, 2)}


def score_pairs(groups: Iterable[tuple[str, object]], truth: dict[str, str]) -> PairScore:
    """Pair precision and recall of ``(path, group)`` rows against ``truth``.

    >>> truth = {"a": "f1", "b": "f1", "c": "f2", "d": "f2"}
    >>> s = score_pairs([("a", 1), ("b", 1), ("c", 1)], truth)
    >>> round(s.precision, 3), s.recall, s.predicted_pairs, s.true_pairs, s.correct_pairs
    (0.333, 0.5, 3, 2, 1)
    """
    predicted = {p for p in pairs_of(groups) if p[0] in truth and p[1] in truth}
    true = pairs_of(truth.items())
    correct = len(predicted & true)
    return PairScore(
        precision=correct / len(predicted) if predicted else 1.0,
        recall=correct / len(true) if true else 1.0,
        predicted_pairs=len(predicted), true_pairs=len(true), correct_pairs=correct,
    )
