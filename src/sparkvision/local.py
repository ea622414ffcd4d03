"""The ``python`` execution: the whole job in this one process, without Spark.

Images are streamed in batches of ``batch_size``: each batch is read, decoded and run
through :func:`sparkvision.executor.predict_frame` (the code every Spark mode runs) and
written by :class:`sparkvision.sinks.local.LocalTableWriter` before the next batch is
read, so memory holds one batch of images whatever the number of inputs. The output has
the same columns and formats as the Spark modes, and the same summary.

The engine uses every core (``threads`` defaults to the machine's CPU count): there is
one process, so there is nobody to share them with.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Sequence

from .models import resolve_model
from .models.heads import SCHEMAS
from .pipeline import Job, finish_summary
from .report import Progress, RunSummary
from .sinks.local import LocalTableWriter, arrow_schema, read_columns


def run_local(job: Job, paths: Sequence[str], labels: Sequence[str | None] | None,
              fmt: str) -> RunSummary:
    """Predict for ``paths`` in this process and write ``job.out``; returns the summary."""
    from .executor import predict_frame

    spec = resolve_model(job.model, task=job.task, engine=job.engine,
                         threads=job.threads or os.cpu_count() or 1, **dict(job.model_options))
    ddl = "path string" + (", label_true string" if labels is not None else "")
    schema = arrow_schema(f"{ddl}, {SCHEMAS[spec.head]}")
    kinds: Counter = Counter()
    pairs: Counter = Counter()
    done = 0
    lock = threading.Lock()

    def poll() -> int:
        with lock:
            return done

    started = time.monotonic()
    with Progress(len(paths), poll, enabled=not job.quiet), \
            LocalTableWriter(job.out, fmt, schema, overwrite=job.overwrite) as writer:
        for start in range(0, len(paths), job.batch_size):
            chunk = list(paths[start : start + job.batch_size])
            frame = predict_frame(chunk, spec, batch_size=job.batch_size)
            frame.insert(0, "path", chunk)
            if labels is not None:
                frame.insert(1, "label_true", list(labels[start : start + job.batch_size]))
            writer.write(frame)
            kinds.update(frame["error_kind"].where(frame["error_kind"].notna(), None))
            if labels is not None and job.task == "classify":
                ok = frame[frame["error"].isna() & frame["label_true"].notna()]
                pairs.update(zip(ok["label_true"], ok["label"]))
            with lock:
                done += len(frame)
    seconds = time.monotonic() - started

    ok_count = kinds.pop(None, 0)
    failed = sum(kinds.values())
    summary = RunSummary(
        inputs=ok_count + failed, ok=ok_count, failed=failed, failed_by_kind=dict(kinds),
        seconds=round(seconds, 3),
        images_per_s=round((ok_count + failed) / seconds, 2) if seconds else 0.0,
        output=job.out, format=fmt,
    )
    if labels is not None and job.task == "classify":
        summary.set_confusion((t, p, n) for (t, p), n in pairs.items())
    return finish_summary(summary, job, lambda: read_columns(job.out, fmt, ("path", "label")))
