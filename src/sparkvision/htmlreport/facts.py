"""The facts of a finished run, read from the files beside its output table.

- ``_summary.json`` (every run): inputs, ok, failed by kind, seconds, images per second;
- ``_sparkvision_run.json`` (Spark executions): task, model, format;
- ``_sparkvision_facts.json`` (written by the command line after a run, see
  :func:`record_run_facts`): engine, precision, execution, model, batch size, master.

A fact no file records is shown as "not recorded".
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from sparkvision.errors import InputError

SUMMARY = "_summary.json"
RUN_INFO = "_sparkvision_run.json"
FACTS = "_sparkvision_facts.json"


def record_run_facts(out: str, facts: Mapping[str, object]) -> None:
    """Write ``facts`` as ``OUT/_sparkvision_facts.json`` (local outputs only)."""
    if not os.path.isdir(out):
        return
    tmp = os.path.join(out, f".{FACTS}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(dict(facts), fh, indent=2, sort_keys=True, default=str)
    os.replace(tmp, os.path.join(out, FACTS))


def read_json(out: str, name: str) -> dict:
    path = os.path.join(out, name)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        value = json.load(fh)
    return value if isinstance(value, dict) else {}


def read_run(out: str) -> dict:
    """Summary, run info and recorded facts of ``out``, merged (later files win)."""
    if not os.path.isdir(out):
        raise InputError(
            f"'{out}' is not a finished output directory: expected the `out` folder of a "
            "sparkvision classify or dedup run (with _summary.json inside)"
        )
    merged: dict = {}
    for name in (SUMMARY, RUN_INFO, FACTS):
        merged.update(read_json(out, name))
    if not merged:
        raise InputError(
            f"'{out}' holds no _summary.json: expected the `out` folder of a finished "
            "sparkvision classify or dedup run. Rerun it, or point at its --out folder"
        )
    return merged


def detect_format(out: str, recorded: str | None = None) -> str:
    """The table format of ``out``: as recorded, else from its files."""
    if recorded:
        return recorded
    if os.path.isdir(os.path.join(out, "_delta_log")):
        return "delta"
    for name in sorted(os.listdir(out)):
        if name.startswith(("_", ".")):
            continue
        for suffix, fmt in ((".parquet", "parquet"), (".csv", "csv"), (".json", "json")):
            if name.endswith(suffix):
                return fmt
    return "parquet"


def fact_rows(run: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, value) pairs for the page's facts table, in a fixed order."""
    rows: list[tuple[str, str]] = []
    by_kind = run.get("failed_by_kind") or {}
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(dict(by_kind).items())) or "none"
    for name, key in (("task", "task"), ("inputs", "inputs"), ("ok", "ok"),
                      ("failed", "failed")):
        rows.append((name, _text(run.get(key))))
    rows.append(("failed by kind", kinds))
    seconds, rate = run.get("seconds"), run.get("images_per_s")
    rows.append(("time", f"{float(seconds):.1f} s" if seconds is not None else "not recorded"))
    rows.append(("throughput", f"{float(rate):.1f} img/s" if rate is not None else "not recorded"))
    for name in ("model", "engine", "precision", "execution", "batch_size", "master", "format",
                 "output"):
        rows.append((name.replace("_", " "), _text(run.get(name))))
    return rows


def report_title(out: str) -> str:
    return f"sparkvision report: {os.path.basename(os.path.normpath(out))}"


def _text(value: object) -> str:
    return "not recorded" if value is None or value == "" else str(value)
