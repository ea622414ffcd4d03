"""The ``python`` execution: the whole job in this one process, without Spark.

Images are streamed in batches of ``batch_size``: each batch is read, decoded and run
through :func:`sparkvision.executor.predict_frame` (the code every Spark mode runs) and
written by :class:`sparkvision.sinks.local.LocalTableWriter` before the next batch is
read, so memory holds one batch of images whatever the number of inputs. The output has
the same columns and formats as the Spark modes; :mod:`sparkvision.jobs.pipeline` turns the
counts returned here into the same summary.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

import sparkvision.executor as executor
from sparkvision.config import DEFAULT_BATCH_SIZE, ModelSpec
from sparkvision.jobs.summary import Progress
from sparkvision.models.heads import SCHEMAS
from sparkvision.options import RunConfig
from sparkvision.runtime.timing import CLOCK, add_workers, phase
from sparkvision.sinks.local import LocalTableWriter, arrow_schema


@dataclass
class LocalCounts:
    """What a python-execution run counted while writing: rows per ``error_kind`` (``None``
    for the ones that worked) and ``(true, predicted)`` label pairs."""

    seconds: float = 0.0
    kinds: Counter = field(default_factory=Counter)
    pairs: Counter = field(default_factory=Counter)

    def add(self, frame: pd.DataFrame) -> None:
        """Count the output rows in ``frame``: by ``error_kind``, and the ``(label_true,
        label)`` pairs of the rows that worked and have a true label."""
        self.kinds.update(frame["error_kind"].where(frame["error_kind"].notna(), None))
        if "label_true" in frame and "label" in frame:
            ok = frame[frame["error"].isna() & frame["label_true"].notna()]
            self.pairs.update(zip(ok["label_true"], ok["label"], strict=True))


def run_local(spec: ModelSpec, run: RunConfig, paths: Sequence[str],
              labels: Sequence[str | None] | None, fmt: str, *,
              batch_size: int = DEFAULT_BATCH_SIZE) -> LocalCounts:
    """Predict for ``paths`` in this process, ``batch_size`` images per model call, and
    write ``run.out``."""
    ddl = "path string" + (", label_true string" if labels is not None else "")
    schema = arrow_schema(f"{ddl}, {SCHEMAS[spec.head]}")
    counts = LocalCounts()
    done = [0]
    lock = threading.Lock()

    def poll() -> int:
        with lock:
            return done[0]

    started = time.monotonic()
    CLOCK.take()  # this process's stage times from here on are the run's
    with phase("model_pass"), Progress(len(paths), poll, enabled=not run.quiet), \
            LocalTableWriter(run.out, fmt, schema, overwrite=run.overwrite) as writer:
        # a few model batches per call: object-store reads run one batch ahead inside it
        step = batch_size * 4
        for start in range(0, len(paths), step):
            chunk = list(paths[start : start + step])
            frame = executor.predict_frame(chunk, spec, batch_size=batch_size,
                                           storage=run.spark.storage)
            frame.insert(0, "path", chunk)
            if labels is not None:
                frame.insert(1, "label_true", list(labels[start : start + step]))
            writer.write(frame)
            counts.add(frame)
            with lock:
                done[0] += len(frame)
    counts.seconds = time.monotonic() - started
    add_workers(CLOCK.take(), cores=1)  # one process: its own stages, the rest is writing
    return counts
