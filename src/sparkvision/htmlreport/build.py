"""From a finished output directory to one HTML file.

:func:`write_report` reads the table and ``_summary.json`` of a ``classify`` (or
``embed``) output, or the groups table of a ``dedup`` output, gathers the bounded
:class:`~.data.ReportData` on Spark (or in this process for the python execution), makes
the thumbnails of exactly the images shown, and writes the page.
"""

from __future__ import annotations

import os
import time

from sparkvision.errors import ConfigError
from sparkvision.htmlreport.data import (
    DEFAULT_MAX_FAILED,
    DEFAULT_MAX_GROUPS,
    DEFAULT_MAX_THUMBS,
    DEFAULT_PER_LABEL,
    ReportData,
    Thumb,
    per_label_cap,
    pick_gallery,
)
from sparkvision.htmlreport.facts import detect_format, fact_rows, read_run, report_title
from sparkvision.htmlreport.page import render

#: Report file written into an output directory when no other path is given; the leading
#: underscore keeps table readers (Spark, pyarrow) from taking it for a data file.
DEFAULT_NAME = "_report.html"


def write_report(out: str, report_path: str | None = None, *, spark=None,
                 execution: str | None = None, per_label: int = DEFAULT_PER_LABEL,
                 max_thumbs: int = DEFAULT_MAX_THUMBS, max_failed: int = DEFAULT_MAX_FAILED,
                 max_groups: int = DEFAULT_MAX_GROUPS) -> str:
    """Write the report of the output at ``out`` to ``report_path`` (default
    ``OUT/_report.html``) and return its path.

    ``execution="python"`` reads the table and makes thumbnails in this process (no
    Spark); otherwise ``spark`` (default: the active or a new local session) does.
    """
    if min(per_label, max_thumbs) < 1 or min(max_failed, max_groups) < 0:
        raise ConfigError(
            f"report limits must be `per_label` >= 1, `max_thumbs` >= 1, `max_failed` >= 0 "
            f"and `max_groups` >= 0; found {per_label}, {max_thumbs}, {max_failed}, {max_groups}")
    run = read_run(out)
    fmt = detect_format(out, run.get("format"))
    if execution is None:
        execution = "python" if run.get("execution") == "python" else "spark"
    if execution != "python" and spark is None:
        from sparkvision.runtime.session import open_session

        spark = open_session()
    started = time.monotonic()
    limits = {"per_label": per_label, "max_thumbs": max_thumbs, "max_failed": max_failed,
              "max_groups": max_groups}
    if run.get("task") == "dedup":
        from sparkvision.htmlreport.dedup_view import gather_dedup

        data = gather_dedup(spark, out, fmt, run, **limits)
    elif execution == "python":
        data = _gather_local(out, fmt, run, **limits)
    else:
        data = _gather_spark(spark, out, fmt, run, **limits)
    data.notes.append(f"Made from {os.path.abspath(out)} ({fmt}) in "
                      f"{time.monotonic() - started:.1f} s.")
    path = report_path or os.path.join(out, DEFAULT_NAME)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(render(data))
    os.replace(tmp, path)
    return path


def _gather_spark(spark, out: str, fmt: str, run: dict, *, per_label: int, max_thumbs: int,
                  max_failed: int, **_) -> ReportData:
    from sparkvision.htmlreport.gather_spark import first_failures, gallery_candidates, table_stats
    from sparkvision.htmlreport.thumbs import spark_thumbnails
    from sparkvision.sinks.tables import read_table

    table = read_table(spark, out, fmt)
    stats = table_stats(table)
    cap = per_label_cap(len(stats["label_counts"]), per_label, max_thumbs)
    candidates = gallery_candidates(table, cap) if stats["cells"] else []
    data = _assemble(out, run, stats, candidates, cap)
    data.failures = first_failures(table, max_failed) if data.failed_total else []
    _attach(data, lambda paths: spark_thumbnails(spark, paths))
    return data


def _gather_local(out: str, fmt: str, run: dict, *, per_label: int, max_thumbs: int,
                  max_failed: int, **_) -> ReportData:
    from sparkvision.htmlreport.gather_local import LocalStats, read_rows
    from sparkvision.htmlreport.thumbs import local_thumbnails

    acc = LocalStats(per_label, max_failed)
    for row in read_rows(out, fmt):
        acc.add(row)
    stats = acc.stats()
    cap = per_label_cap(len(stats["label_counts"]), per_label, max_thumbs)
    data = _assemble(out, run, stats, acc.candidates(), cap)
    data.failures = acc.failures()
    _attach(data, local_thumbnails)
    return data


def _assemble(out: str, run: dict, stats: dict, candidates: list[Thumb], cap: int) -> ReportData:
    data = ReportData(
        title=report_title(out),
        facts=fact_rows(run),
        label_counts=stats["label_counts"], histograms=stats["histograms"],
        confusion=stats["confusion"], per_label=cap,
        failed_by_kind=stats["failed_by_kind"],
        failed_total=sum(stats["failed_by_kind"].values()),
    )
    data.galleries = pick_gallery(candidates, stats["cells"], cap)
    if not stats["label_counts"] and not stats["cells"]:
        data.notes.append("This output has no labels (an embed output, or every image "
                          "failed): the page shows the run and the failed files.")
    return data


def _attach(data: ReportData, make) -> None:
    """Fill in the thumbnails of every gallery image (one call for all of them)."""
    shown = [t for g in data.galleries for c in g.cells for t in c.items]
    made = make([t.path for t in shown])
    for thumb in shown:
        thumb.image, thumb.problem = made.get(thumb.path, (None, "not made"))
