"""Which file of a duplicate group is kept, and the sentence that says why.

The keeper is the file with the **most pixels**; among equals the **largest file** (more
bytes: less compression); among equals the **oldest** (earliest modification time, the
likely original); among equals the first path in sort order. Every other file of the
group is a duplicate of it: ``exact`` when another file of the group with the same bytes
stays (the keeper, or a near duplicate of it that comes first in keeper order), ``near``
when only the embeddings are close.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

KINDS = ("exact", "near")


@dataclass(frozen=True)
class FileInfo:
    path: str
    pixels: int | None
    bytes: int | None
    mtime: float | None


def keeper_key(info: FileInfo) -> tuple:
    """Sort key: the smallest key is the keeper."""
    return (-(info.pixels or 0), -(info.bytes or 0),
            info.mtime if info.mtime is not None else float("inf"), info.path)


def choose_keeper(files: Sequence[FileInfo]) -> FileInfo:
    """The file to keep: most pixels, then largest file, then oldest mtime, then path.

    >>> a = FileInfo("a.jpg", 100, 10, 5.0); b = FileInfo("b.jpg", 200, 5, 9.0)
    >>> choose_keeper([a, b]).path
    'b.jpg'
    """
    return min(files, key=keeper_key)


def keeper_reason(keeper: FileInfo, runner_up: FileInfo | None) -> str:
    """Why ``keeper`` won against the next file in keeper order."""
    if runner_up is None:
        return "keeper"
    if (keeper.pixels or 0) > (runner_up.pixels or 0):
        return f"keeper: most pixels ({_mp(keeper.pixels)})"
    if (keeper.bytes or 0) > (runner_up.bytes or 0):
        return f"keeper: same pixels, largest file ({keeper.bytes:,} bytes)"
    if keeper.mtime is not None and (runner_up.mtime is None or keeper.mtime < runner_up.mtime):
        return f"keeper: same pixels and size, oldest ({_date(keeper.mtime)})"
    return "keeper: same pixels, size and age, first by path"


def duplicate_reason(info: FileInfo, keeper: FileInfo, kind: str, similarity: float | None,
                     *, twin: str | None = None) -> str:
    """Why ``info`` is a duplicate of ``keeper`` and not the one kept; ``twin`` is the file
    of the group with the same bytes that stands for them, when it is not the keeper."""
    if kind == "exact" and twin:
        return (f"same bytes as {os.path.basename(twin)}, a near duplicate of the keeper "
                f"(cosine {similarity:.3f})")
    if kind == "exact":
        head = "same bytes as the keeper"
    else:
        head = f"cosine {similarity:.3f} to the keeper" if similarity is not None else "near"
    if (info.pixels or 0) < (keeper.pixels or 0):
        why = f"fewer pixels ({_mp(info.pixels)} vs {_mp(keeper.pixels)})"
    elif (info.bytes or 0) < (keeper.bytes or 0):
        why = f"smaller file ({info.bytes or 0:,} vs {keeper.bytes or 0:,} bytes)"
    elif keeper.mtime is not None and (info.mtime is None or info.mtime > keeper.mtime):
        why = f"newer ({_date(info.mtime)} vs {_date(keeper.mtime)})"
    else:
        why = "after the keeper by path"
    return f"{head}; {why}"


def _mp(pixels: int | None) -> str:
    return "unknown" if not pixels else f"{pixels:,} pixels"


def _date(stamp: float | None) -> str:
    if stamp is None:
        return "unknown"
    millis = round((stamp % 1) * 1000) % 1000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) + f".{millis:03d}"
