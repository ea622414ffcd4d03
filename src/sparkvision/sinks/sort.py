"""Sort images into ``DIR/<label>/`` folders, safely, with a manifest.

- ``copy`` (default) never touches the source; ``move`` deletes the source only after the
  copy is complete and its size and sha256 match; ``link`` makes a symbolic link.
- Nothing is ever overwritten: the new file is created with ``O_EXCL`` semantics (a hard
  link from a finished temporary file), and a name clash gets ``name-1.jpg``, ``name-2.jpg``.
- A rerun does not duplicate: a destination that already holds the same bytes is reused.
- Labels are sanitised into a single safe folder name: no ``..``, separators, NUL or
  absolute paths can escape ``DIR``.
- Every input row is recorded in ``DIR/_manifest.csv`` (source, destination, label, action).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigError
from ..sources.reader import to_local_path

MODES = ("copy", "move", "link")
MANIFEST = "_manifest.csv"
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass
class SortReport:
    manifest: str
    counts: dict[str, int]


def safe_label(label: str) -> str:
    """A folder name for ``label`` that stays inside the target directory.

    >>> safe_label("../../etc"), safe_label("/abs/path"), safe_label("cat")
    ('etc', 'abs_path', 'cat')
    """
    text = _UNSAFE.sub("_", str(label).replace("\x00", "")).strip(" ._")
    text = text[:100]
    return text or "unlabelled"


def sort_into(rows: Iterable[tuple[str, str | None]], target: str, *, mode: str = "copy") -> SortReport:
    """Place each ``(path, label)`` under ``target/<label>/``; rows without a label
    (failed images) are recorded in the manifest and left where they are."""
    if mode not in MODES:
        raise ConfigError(f"--mode must be one of {', '.join(MODES)}; found {mode!r}")
    os.makedirs(target, exist_ok=True)
    manifest_path = os.path.join(target, MANIFEST)
    new_file = not os.path.exists(manifest_path)
    counts: dict[str, int] = {}
    with open(manifest_path, "a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if new_file:
            writer.writerow(["source", "destination", "label", "action"])
        for path, label in rows:
            source = to_local_path(path) or path
            if label is None:
                action, dest = "skipped_failed", ""
            else:
                try:
                    action, dest = _place(source, os.path.join(target, safe_label(label)), mode)
                except OSError as exc:
                    action, dest = f"error: {exc.strerror or exc}", ""
            counts[action.split(":")[0]] = counts.get(action.split(":")[0], 0) + 1
            writer.writerow([path, dest, label or "", action])
            fh.flush()
    return SortReport(manifest=manifest_path, counts=counts)


def _place(source: str, folder: str, mode: str) -> tuple[str, str]:
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(source.rstrip("/")) or "image"
    stem, ext = os.path.splitext(name)
    size = os.path.getsize(source)
    digest = None
    for n in range(10_000):
        dest = os.path.join(folder, name if n == 0 else f"{stem}-{n}{ext}")
        if os.path.lexists(dest):
            if mode == "link":
                if os.path.islink(dest) and os.readlink(dest) == os.path.abspath(source):
                    return "exists", dest
                continue
            if os.path.isfile(dest) and os.path.getsize(dest) == size:
                digest = digest or _sha256(source)
                if _sha256(dest) == digest:
                    if mode == "move":
                        os.unlink(source)
                        return "moved_existing", dest
                    return "exists", dest
            continue
        if mode == "link":
            try:
                os.symlink(os.path.abspath(source), dest)
            except FileExistsError:
                continue
            return "linked", dest
        digest = digest or _sha256(source)
        if not _copy_exclusive(source, dest, size, digest):
            continue
        if mode == "move":
            os.unlink(source)
            return "moved", dest
        return "copied", dest
    raise OSError(f"could not find a free name for {name} in {folder}")


def _copy_exclusive(source: str, dest: str, size: int, digest: str) -> bool:
    """Copy to a temporary file, verify it, then link it into place without overwriting.
    Returns False when ``dest`` appeared meanwhile."""
    fd, tmp = tempfile.mkstemp(prefix=".sorting-", dir=os.path.dirname(dest))
    os.close(fd)
    try:
        shutil.copy2(source, tmp)
        if os.path.getsize(tmp) != size or _sha256(tmp) != digest:
            raise OSError(f"copy of {source} did not verify (size or checksum differ)")
        try:
            os.link(tmp, dest)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
