"""``--move-duplicates-to DIR``: every non-keeper into ``DIR/group-NNNNNN/``.

The moving is :func:`sparkvision.sinks.sort.sort_into` in ``move`` mode, the code behind
``classify --sort-into``: a verified copy is made first and the source is removed only
after the copy is on disk and recorded in ``DIR/_manifest.csv``; nothing is overwritten (a
name clash gets ``name-1.jpg``), and keepers are never touched. ``dry_run`` prints what
would move and changes nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

from sparkvision.sinks.sort import safe_label, sort_into


def group_folder(group: int) -> str:
    """Folder name of a duplicate group under --move-duplicates-to.

    >>> group_folder(12)
    'group-000012'
    """
    return f"group-{int(group):06d}"


def move_duplicates(table, target: str, *, dry_run: bool = False, stream=None) -> dict[str, int]:
    """Move (or, with ``dry_run``, list) the non-keepers of the groups ``table``; returns
    the counts of the actions taken (``would_move`` for a dry run)."""
    rows = _non_keepers(table)
    if not dry_run:
        return sort_into(rows, target, mode="move").counts
    out = stream or sys.stdout
    count = 0
    for path, folder in rows:
        dest = os.path.join(target, safe_label(folder), os.path.basename(path.rstrip("/")))
        out.write(f"would move {path} -> {dest}\n")
        count += 1
    return {"would_move": count}


def _non_keepers(table) -> Iterator[tuple[str, str]]:
    from pyspark.sql import functions as F

    picked = table.where(~F.col("keeper")).select("path", "group").orderBy("group", "path")
    for row in picked.toLocalIterator():
        yield row["path"], group_folder(row["group"])
