"""Sort images into ``DIR/<label>/`` folders, safely, with a manifest.

- ``copy`` (default) never touches the source. ``move`` copies, verifies the copy's size
  and sha256 against the source, flushes it to disk, records the move in the manifest,
  and only then deletes the source. ``link`` makes a symbolic link.
- Nothing is ever overwritten: the new file is put in place with a hard link from a
  finished temporary file (which fails if the name exists), and a name clash with other
  bytes gets ``name-1.jpg``, ``name-2.jpg``, ...
- A rerun does not duplicate: a destination that already holds the same bytes is reused
  (``exists``; in ``move`` mode the source is then deleted: ``moved_existing``). A source
  that already *is* the destination (sorting a folder into itself) is never deleted.
- Labels are sanitised into a single safe folder name: ``..``, separators, NUL, control
  characters and absolute paths cannot escape ``DIR``, names are cut to 100 bytes, and a
  label folder that resolves outside ``DIR`` (a planted symbolic link) is refused.
- Every input row is recorded in ``DIR/_manifest.csv``: source, destination, label,
  action (``copied``, ``moved``, ``linked``, ``exists``, ``moved_existing``,
  ``moved_earlier``, ``already_in_place``, ``skipped_failed`` or ``error: ...``) and the
  sha256 of the bytes. A rerun of ``move`` finds the sources an earlier run moved in the
  manifest (``moved_earlier``) instead of reporting them missing.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from sparkvision.errors import ConfigError
from sparkvision.storage.files import file_sha256
from sparkvision.storage.reader import to_local_path

MODES = ("copy", "move", "link")
MANIFEST = "_manifest.csv"
MANIFEST_HEADER = ["source", "destination", "label", "action", "sha256"]
MAX_LABEL_BYTES = 100
MAX_NAME_BYTES = 255
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass
class SortReport:
    manifest: str
    counts: dict[str, int]


@dataclass
class _Placed:
    action: str
    dest: str
    digest: str = ""
    delete_source: bool = False


def safe_label(label: object) -> str:
    """A folder name for ``label`` that stays inside the target directory.

    >>> safe_label("../../etc"), safe_label("/abs/path"), safe_label("cat"), safe_label("..")
    ('etc', 'abs_path', 'cat', 'unlabelled')
    """
    text = _UNSAFE.sub("_", str(label).replace("\x00", "")).strip(" ._")
    text = _cut_utf8(text, MAX_LABEL_BYTES).strip(" ._")
    return text or "unlabelled"


def sort_into(rows: Iterable[tuple[str, str | None]], target: str, *,
              mode: str = "copy") -> SortReport:
    """Place each ``(path, label)`` under ``target/<label>/``; rows without a label
    (failed images) are recorded in the manifest and left where they are."""
    if mode not in MODES:
        raise ConfigError(f"`sort_mode` must be one of {', '.join(MODES)}; found {mode!r}")
    os.makedirs(target, exist_ok=True)
    manifest_path = os.path.join(target, MANIFEST)
    new_file = not os.path.exists(manifest_path)
    moved_before = {} if new_file or mode != "move" else _earlier_moves(manifest_path)
    counts: dict[str, int] = {}
    with open(manifest_path, "a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if new_file:
            writer.writerow(MANIFEST_HEADER)

        def record(path: str, placed: _Placed, label: str) -> None:
            key = placed.action.split(":")[0]
            counts[key] = counts.get(key, 0) + 1
            writer.writerow([path, placed.dest, label, placed.action, placed.digest])
            fh.flush()

        for path, label in rows:
            source = to_local_path(path) or path
            if label is None:
                record(path, _Placed("skipped_failed", ""), "")
                continue
            try:
                earlier = moved_before.get(path)
                if earlier and not os.path.lexists(source) and os.path.isfile(earlier):
                    placed = _Placed("moved_earlier", earlier)
                else:
                    placed = _place(source, _label_folder(target, label), mode)
            except OSError as exc:
                placed = _Placed(f"error: {exc.strerror or exc}", "")
            record(path, placed, label)
            if placed.delete_source:
                # The copy is verified and on disk, and the manifest says where it went:
                # only now may the original go.
                os.fsync(fh.fileno())
                try:
                    os.unlink(source)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    record(path, _Placed(f"error: copied, but could not delete the source: "
                                         f"{exc.strerror or exc}", placed.dest), label)
    return SortReport(manifest=manifest_path, counts=counts)


def _label_folder(target: str, label: str) -> str:
    folder = os.path.join(target, safe_label(label))
    os.makedirs(folder, exist_ok=True)
    real, root = os.path.realpath(folder), os.path.realpath(target)
    if os.path.dirname(real) != root:
        raise OSError(f"label folder {folder} resolves to {real}, outside {root}; refused")
    return folder


def _earlier_moves(manifest_path: str) -> dict[str, str]:
    """source -> destination of every move an earlier run recorded."""
    moves: dict[str, str] = {}
    with open(manifest_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("action") in ("moved", "moved_existing") and row.get("destination"):
                moves[row["source"]] = row["destination"]
    return moves


def _place(source: str, folder: str, mode: str) -> _Placed:
    name = os.path.basename(source.rstrip("/")) or "image"
    stem, ext = os.path.splitext(name)
    size = os.path.getsize(source)
    digest = ""
    for n in range(10_000):
        dest = os.path.join(folder, _candidate(stem, ext, n))
        if os.path.lexists(dest):
            if mode == "link":
                if os.path.islink(dest) and os.readlink(dest) == os.path.abspath(source):
                    return _Placed("exists", dest)
                continue
            if os.path.isfile(dest) and os.path.samefile(source, dest):
                return _Placed("already_in_place", dest)
            if os.path.isfile(dest) and not os.path.islink(dest) and os.path.getsize(dest) == size:
                digest = digest or file_sha256(source)
                if file_sha256(dest) == digest:
                    if mode == "move":
                        return _Placed("moved_existing", dest, digest, delete_source=True)
                    return _Placed("exists", dest, digest)
            continue
        if mode == "link":
            try:
                os.symlink(os.path.abspath(source), dest)
            except FileExistsError:
                continue
            return _Placed("linked", dest)
        digest = digest or file_sha256(source)
        if not _copy_exclusive(source, dest, size, digest, durable=mode == "move"):
            continue
        if mode == "move":
            return _Placed("moved", dest, digest, delete_source=True)
        return _Placed("copied", dest, digest)
    raise OSError(f"could not find a free name for {name} in {folder}")


def _candidate(stem: str, ext: str, n: int) -> str:
    """``stem.ext`` or ``stem-n.ext``, cut so the name fits the file system's limit."""
    suffix = (f"-{n}" if n else "") + ext
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    return _cut_utf8(stem, room) + suffix


def _copy_exclusive(source: str, dest: str, size: int, digest: str, *, durable: bool) -> bool:
    """Copy to a temporary file, verify it, then link it into place without overwriting.
    Returns False when ``dest`` appeared meanwhile. ``durable`` flushes the copy and its
    folder to disk first (before a move deletes the source)."""
    folder = os.path.dirname(dest)
    fd, tmp = tempfile.mkstemp(prefix=".sorting-", dir=folder)
    os.close(fd)
    try:
        shutil.copy2(source, tmp)
        if os.path.getsize(tmp) != size or file_sha256(tmp) != digest:
            raise OSError(
                f"copy of {source} did not verify: expected {size} bytes with sha256 "
                f"{digest[:12]}..., found {os.path.getsize(tmp)} bytes with other content; "
                "the source was left in place"
            )
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        try:
            os.link(tmp, dest)
        except FileExistsError:
            return False
        if durable:
            _fsync_dir(folder)
        return True
    finally:
        os.unlink(tmp)


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _cut_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:max(0, limit)].decode("utf-8", errors="ignore")
