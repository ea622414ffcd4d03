"""What a run tells its user: the progress bar, the summary, accuracy and confusion."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RunSummary:
    """Counts of a finished run; written as ``_summary.json`` inside the output."""

    inputs: int
    ok: int
    failed: int
    failed_by_kind: dict[str, int]
    seconds: float
    images_per_s: float
    output: str
    format: str
    accuracy: float | None = None
    labelled: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    #: label -> precision, recall (``None`` where undefined), true and predicted counts
    per_class: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    sorted_into: str | None = None
    sort_counts: dict[str, int] = field(default_factory=dict)
    #: images already in the output before this run (``--resume``); not in ``images_per_s``
    resumed: int = 0
    #: where the time went (:mod:`sparkvision.jobs.breakdown`): phases adding up to
    #: ``wall_s``, the workers' core seconds of the model pass
    breakdown: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def set_confusion(self, counts: Iterable[tuple[str, str, int]]) -> None:
        """Fill confusion, labelled and accuracy from ``(true, predicted, count)`` rows."""
        confusion: dict[str, dict[str, int]] = {}
        for truth, predicted, count in counts:
            row = confusion.setdefault(truth, {})
            row[predicted] = row.get(predicted, 0) + count
        self.labelled = sum(sum(r.values()) for r in confusion.values())
        correct = sum(r.get(t, 0) for t, r in confusion.items())
        self.accuracy = correct / self.labelled if self.labelled else None
        self.confusion = confusion
        self.per_class = per_class_scores(confusion)

    def render(self, verbose: bool = False) -> str:
        lines = [
            f"images: {self.inputs}   ok: {self.ok}   failed: {self.failed}   "
            f"time: {self.seconds:.1f} s   throughput: {self.images_per_s:.1f} img/s",
        ]
        for kind, count in sorted(self.failed_by_kind.items()):
            lines.append(f"  failed ({kind}): {count}")
        if self.resumed:
            lines.append(
                f"resumed: {self.resumed} images were already in the output; this run "
                f"processed {self.inputs - self.resumed}"
            )
        if self.accuracy is not None:
            lines.append(
                f"accuracy: {self.accuracy:.1%} on {self.labelled} labelled images "
                "(failed images excluded)"
            )
            lines.append(render_confusion(self.confusion))
            lines.append(render_per_class(self.per_class))
        lines.append(f"results: {self.output} ({self.format})")
        if self.sorted_into:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(self.sort_counts.items()))
            in_store = "://" in self.sorted_into and not self.sorted_into.startswith("file:")
            manifest = (f"{self.sorted_into.rstrip('/')}/_manifest/ (CSV parts)" if in_store
                        else "_manifest.csv")
            lines.append(f"sorted into: {self.sorted_into} ({counts}); manifest in {manifest}")
        if verbose and self.breakdown:
            from sparkvision.runtime.timing import render

            lines.append(render(self.breakdown))
        return "\n".join(lines)


def render_confusion(confusion: dict[str, dict[str, int]]) -> str:
    """A text table, true labels as rows, predicted labels as columns."""
    predicted = sorted({p for row in confusion.values() for p in row})
    truths = sorted(confusion)
    width = max([len("true \\ pred"), *map(len, truths), *map(len, predicted), 5]) + 2
    head = "true \\ pred".ljust(width) + "".join(p.rjust(width) for p in predicted)
    rows = [
        t.ljust(width) + "".join(str(confusion[t].get(p, 0)).rjust(width) for p in predicted)
        for t in truths
    ]
    return "\n".join([head, *rows])


def per_class_scores(
    confusion: dict[str, dict[str, int]],
) -> dict[str, dict[str, float | int | None]]:
    """Precision and recall of every label that is a true label, a prediction, or both.

    ``precision`` = correct / times predicted, ``recall`` = correct / times true. A ratio
    whose denominator is zero is ``None`` (undefined, not 0): a label never predicted has no
    precision, a label never true (``other`` when every image is a cat or a dog) has no
    recall. A label predicted but never true gets precision 0.0; true but never predicted,
    recall 0.0.
    """
    labels = sorted(set(confusion) | {p for row in confusion.values() for p in row})
    scores: dict[str, dict[str, float | int | None]] = {}
    for label in labels:
        hits = confusion.get(label, {}).get(label, 0)
        true = sum(confusion.get(label, {}).values())
        predicted = sum(row.get(label, 0) for row in confusion.values())
        scores[label] = {
            "precision": hits / predicted if predicted else None,
            "recall": hits / true if true else None,
            "true": true,
            "predicted": predicted,
        }
    return scores


def render_per_class(per_class: dict[str, dict[str, float | int | None]]) -> str:
    """A text table of :func:`per_class_scores`; ``-`` marks an undefined ratio."""
    width = max([len("class"), *map(len, per_class)]) + 2

    def pct(value: float | int | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    head = "class".ljust(width) + "".join(
        h.rjust(11) for h in ("precision", "recall", "true", "predicted")
    )
    rows = [
        label.ljust(width)
        + "".join(
            cell.rjust(11)
            for cell in (pct(s["precision"]), pct(s["recall"]), str(s["true"]),
                         str(s["predicted"]))
        )
        for label, s in per_class.items()
    ]
    return "\n".join([head, *rows])


class Progress:
    """A one-line progress bar on stderr: images done / total, img/s and ETA.

    ``poll`` returns the number of images done so far; it is called from a background
    thread every ``interval`` seconds. Nothing is drawn when ``enabled`` is false or
    stderr is not a terminal.
    """

    def __init__(self, total: int, poll: Callable[[], int], *, enabled: bool = True,
                 interval: float = 0.5, stream=None) -> None:
        self.total = total
        self.poll = poll
        self.stream = stream or sys.stderr
        self.enabled = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = time.monotonic()

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="sparkvision-progress",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._draw(self._safe_poll(), final=True)

    def _safe_poll(self) -> int:
        try:
            return min(self.total, max(0, int(self.poll())))
        except Exception:  # noqa: BLE001 - a failing poll must never break the job
            return 0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw(self._safe_poll())

    def _draw(self, done: int, final: bool = False) -> None:
        self.stream.write("\r" + format_progress(done, self.total, time.monotonic() - self._start)
                          + ("\n" if final else ""))
        self.stream.flush()


def format_progress(done: int, total: int, elapsed: float, width: int = 30) -> str:
    """One progress line: the bar, images done, the rate and the time left.

    >>> format_progress(50, 100, 10.0)
    '[###############...............]  50/100 images  5.0 img/s  ETA 0:10'
    """
    frac = done / total if total else 1.0
    filled = round(frac * width)
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else None
    eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "--:--"
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {done:>{len(str(total))}}/{total} images  "
        f"{rate:.1f} img/s  ETA {eta_text}"
    )
