"""The end of a run: its summary counted from what was written (no second model pass),
the sort into folders or a bucket, where the time went, and ``_summary.json``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sparkvision.jobs.summary import RunSummary
from sparkvision.options import RunConfig
from sparkvision.runtime.session import jobs_write_here
from sparkvision.runtime.timing import current, phase
from sparkvision.sinks import sort_into
from sparkvision.sinks.local import column_batches, read_columns, table_columns
from sparkvision.sinks.side_files import write_text
from sparkvision.sinks.store_sort import sort_frame_into_store, sort_rows_into_store
from sparkvision.sinks.tables import read_table
from sparkvision.storage.reader import to_local_path
from sparkvision.storage.uris import scheme

SUMMARY_FILE = "_summary.json"


def new_summary(kinds: dict[Any, int], seconds: float, run: RunConfig, fmt: str, *,
                skipped: int = 0) -> RunSummary:
    """A summary from rows per ``error_kind`` (``None``: the rows that worked).

    ``skipped`` images were already in the output (``--resume``): they count in the
    totals but not in this run's throughput."""
    kinds = dict(kinds)
    ok = kinds.pop(None, 0)
    failed = sum(kinds.values())
    return RunSummary(
        inputs=ok + failed, ok=ok, failed=failed, failed_by_kind=kinds,
        seconds=round(seconds, 3),
        images_per_s=round((ok + failed - skipped) / seconds, 2) if seconds else 0.0,
        output=run.out, format=fmt, resumed=skipped,
    )


def summarise(spark: Any, run: RunConfig, fmt: str, seconds: float, *,
              skipped: int = 0) -> RunSummary:
    """Count, score and sort from the written table (no second model pass): a Parquet
    table in a local folder that the session's jobs wrote on this machine is read by this
    process (pyarrow, in batches: no Spark job, about a second less on a small run), any
    other by Spark."""
    folder = to_local_path(run.out)
    if (fmt == "parquet" and folder is not None and jobs_write_here(spark)
            and scheme(run.sort_into or "") in ("", "file")):
        columns = table_columns(folder, fmt)
        if "error_kind" in columns:
            return _summarise_here(spark, folder, columns, run, fmt, seconds,
                                   skipped=skipped)
    from pyspark.sql import functions as F

    with phase("summary"):
        written = read_table(spark, run.out, fmt)
        kinds = {r["error_kind"]: r["count"]
                 for r in written.groupBy("error_kind").count().collect()}
        summary = new_summary(kinds, seconds, run, fmt, skipped=skipped)
        if run.label_from and "label" in written.columns:
            pairs = (
                written.where(F.col("error").isNull() & F.col("label_true").isNotNull())
                .groupBy("label_true", "label").count().collect()
            )
            summary.set_confusion((row["label_true"], row["label"], row["count"])
                                  for row in pairs)
    return finish_summary(summary, run, lambda: (
        (r["path"], r["label"]) for r in written.select("path", "label").toLocalIterator()
    ), frame=written)


def _summarise_here(spark: Any, folder: str, columns: list[str], run: RunConfig, fmt: str,
                    seconds: float, *, skipped: int) -> RunSummary:
    """:func:`summarise` reading the local Parquet ``folder`` (its ``columns``) in this
    process."""
    from sparkvision.jobs.local import LocalCounts

    with phase("summary"):
        counts = LocalCounts()  # the rule the python execution counts its rows by
        confusion = bool(run.label_from) and {"label", "label_true"} <= set(columns)
        wanted = ["error_kind", "error", "label_true", "label"] if confusion else ["error_kind"]
        for batch in column_batches(folder, fmt, wanted):
            counts.add(batch.to_pandas())
        summary = new_summary(counts.kinds, seconds, run, fmt, skipped=skipped)
        if confusion:
            summary.set_confusion((true, predicted, count)
                                  for (true, predicted), count in counts.pairs.items())

    return finish_summary(summary, run, lambda: read_columns(folder, fmt, ("path", "label")),
                          spark=spark)


def finish_summary(summary: RunSummary, run: RunConfig,
                   rows: Callable[[], Iterable[Any]], *, frame: Any = None,
                   spark: Any = None) -> RunSummary:
    """Sort the images when the run asks for it (``rows()`` gives the ``(path, label)``
    pairs read back from the written table; into an object store the tasks copy from the
    written ``frame``, or this process without Spark) and write ``_summary.json`` into the
    output (through ``spark``'s or the ``frame``'s Hadoop file system where the output is a
    URI), with the run's time breakdown (:mod:`sparkvision.runtime.timing`)."""
    if run.sort_into:
        storage = run.spark.storage
        with phase("sort"):
            if scheme(run.sort_into) in ("", "file"):
                report = sort_into(rows(), run.sort_into, mode=run.sort_mode)
            elif frame is not None:
                report = sort_frame_into_store(frame, run.sort_into, storage=storage)
            else:
                report = sort_rows_into_store(rows(), run.sort_into, storage=storage)
        summary.sorted_into = run.sort_into
        summary.sort_counts = report.counts
    summary.breakdown = current() or {}
    # beside the table, through its own file system (a Hadoop URI included)
    if spark is None and frame is not None:
        spark = frame.sparkSession
    write_text(spark, run.out, SUMMARY_FILE, summary.to_json())
    return summary
