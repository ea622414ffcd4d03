"""What a report page shows, as plain data, and the rules that choose it.

Everything here is small and bounded whatever the size of the output: counts per label, a
histogram of scores per label, the confusion counts, at most ``per_label`` thumbnails per
label (and at most ``max_thumbs`` in all), at most ``max_failed`` failed files, at most
``max_groups`` duplicate groups. The Spark and the single-process readers
(:mod:`.gather_spark`, :mod:`.gather_local`) fill it; :mod:`.page` renders it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: Bins of each score histogram, over [0, 1].
HIST_BINS = 20
#: Thumbnails per label, at most (the page says so).
DEFAULT_PER_LABEL = 48
#: Thumbnails on the whole page, at most (many labels share it).
DEFAULT_MAX_THUMBS = 1200
#: Failed files listed, at most (all are in the output table).
DEFAULT_MAX_FAILED = 2000
#: Duplicate groups shown, at most, and members shown per group.
DEFAULT_MAX_GROUPS = 200
MAX_GROUP_MEMBERS = 12
#: Labels drawn as bars and as histograms; the rest are summed up in a line.
MAX_CHART_LABELS = 30
MAX_HIST_LABELS = 24


@dataclass
class Thumb:
    """One picture on the page; ``image`` is JPEG bytes, or None with ``problem`` set."""

    path: str
    label: str | None = None
    score: float | None = None
    label_true: str | None = None
    image: bytes | None = None
    problem: str | None = None


@dataclass
class Cell:
    """The shown images predicted ``label`` whose true label is ``label_true``."""

    label: str
    label_true: str | None
    total: int
    items: list[Thumb]


@dataclass
class Gallery:
    label: str
    total: int
    cells: list[Cell]


@dataclass
class Failure:
    path: str
    kind: str | None
    message: str | None


@dataclass
class DupMember:
    path: str
    keeper: bool
    kind: str
    similarity: float | None
    reason: str
    thumb: Thumb | None = None


@dataclass
class DupGroup:
    group: int
    size: int
    members: list[DupMember]


@dataclass
class ReportData:
    """Everything one page shows."""

    title: str
    facts: list[tuple[str, str]]
    label_counts: dict[str, int] = field(default_factory=dict)
    histograms: dict[str, list[int]] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    galleries: list[Gallery] = field(default_factory=list)
    per_label: int = 0
    failures: list[Failure] = field(default_factory=list)
    failed_total: int = 0
    failed_by_kind: dict[str, int] = field(default_factory=dict)
    groups: list[DupGroup] = field(default_factory=list)
    groups_total: int = 0
    notes: list[str] = field(default_factory=list)


def per_label_cap(n_labels: int, per_label: int, max_thumbs: int) -> int:
    """Thumbnails each label may show: ``per_label``, less when many labels share
    ``max_thumbs``, but at least one.

    >>> per_label_cap(3, 48, 1200), per_label_cap(1000, 48, 1200)
    (48, 1)
    """
    return max(1, min(per_label, max_thumbs // max(1, n_labels)))


def score_bin(score: float) -> int:
    """The histogram bin of ``score``; values outside [0, 1] go to the edge bins.

    >>> score_bin(0.0), score_bin(0.51), score_bin(1.0), score_bin(7.0)
    (0, 10, 19, 19)
    """
    return min(HIST_BINS - 1, max(0, int(score * HIST_BINS)))


def pick_gallery(candidates: Iterable[Thumb], cell_totals: Mapping[tuple[str, str | None], int],
                 cap: int) -> list[Gallery]:
    """Up to ``cap`` thumbnails per predicted label, misclassified and least confident first.

    ``candidates`` holds, for each (label, true label) cell, at least its ``cap`` lowest
    scores. Within a label the cells take turns (misclassified cells first, larger ones
    before smaller), each giving its least confident image not yet taken, so every
    confusion cell shows pictures; each cell then lists its images by rising score.
    """
    by_cell: dict[tuple[str, str | None], list[Thumb]] = {}
    for thumb in candidates:
        by_cell.setdefault((thumb.label or "", thumb.label_true), []).append(thumb)
    labels = sorted({label for label, _ in cell_totals})
    galleries = []
    for label in labels:
        keys = [k for k in cell_totals if k[0] == label]
        keys.sort(key=lambda k: (not _wrong(*k), -cell_totals[k], str(k[1])))
        queues = {k: sorted(by_cell.get(k, []), key=_by_score) for k in keys}
        taken: dict[tuple[str, str | None], list[Thumb]] = {k: [] for k in keys}
        budget, depth = cap, 0
        while budget > 0 and any(len(q) > depth for q in queues.values()):
            for k in keys:
                if budget > 0 and len(queues[k]) > depth:
                    taken[k].append(queues[k][depth])
                    budget -= 1
            depth += 1
        cells = [Cell(label, k[1], cell_totals[k], taken[k]) for k in keys]
        galleries.append(Gallery(label, sum(cell_totals[k] for k in keys), cells))
    return galleries


def precision_recall(
    confusion: Mapping[str, Mapping[str, int]],
) -> dict[str, tuple[float | None, float | None, int]]:
    """label -> (precision, recall, support) from true -> predicted -> count.

    >>> precision_recall({"cat": {"cat": 3, "dog": 1}, "dog": {"dog": 4}})["cat"]
    (1.0, 0.75, 4)
    """
    labels = sorted(set(confusion) | {p for row in confusion.values() for p in row})
    out = {}
    for label in labels:
        hits = confusion.get(label, {}).get(label, 0)
        predicted = sum(row.get(label, 0) for row in confusion.values())
        support = sum(confusion.get(label, {}).values())
        out[label] = (hits / predicted if predicted else None,
                      hits / support if support else None, support)
    return out


def accuracy(confusion: Mapping[str, Mapping[str, int]]) -> float | None:
    total = sum(sum(row.values()) for row in confusion.values())
    hits = sum(row.get(t, 0) for t, row in confusion.items())
    return hits / total if total else None


def top_labels(counts: Mapping[str, int], n: int) -> tuple[list[str], int, int]:
    """The ``n`` most frequent labels, and how many other labels and images there are."""
    ordered = sorted(counts, key=lambda k: (-counts[k], k))
    rest = ordered[n:]
    return ordered[:n], len(rest), sum(counts[k] for k in rest)


def cell_id(label: str, label_true: str | None, labels: Sequence[str]) -> str:
    """A stable HTML id for a gallery cell (label text never goes into an id)."""
    index = {name: i for i, name in enumerate(labels)}
    true_part = "x" if label_true is None else str(index.get(label_true, "u"))
    return f"cell-{index.get(label, 'u')}-{true_part}"


def _wrong(label: str, label_true: str | None) -> bool:
    return label_true is not None and label_true != label


def _by_score(thumb: Thumb) -> tuple[float, str]:
    return (thumb.score if thumb.score is not None else float("inf"), thumb.path)
