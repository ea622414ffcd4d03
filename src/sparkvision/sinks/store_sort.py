"""Sort images into ``s3://bucket/sorted/<label>/`` (any fsspec URI), done by the tasks.

The same rules as sorting into a folder (:mod:`sparkvision.sinks.sort`), in the terms of
an object store:

- copies only (``move`` and ``link`` are refused: an object store has neither links nor an
  atomic rename); the source is never touched;
- nothing is overwritten: each object is written with a conditional put (``If-None-Match:
  *``, fsspec's ``mode="create"``), and a name taken by other bytes gets ``name-1.jpg``,
  ``name-2.jpg``, ...; a name that already holds the same bytes is reused (``exists``), so
  a rerun, or ``--resume``, adds nothing;
- every copy is verified: on S3 the put carries the bytes' MD5 (``Content-MD5``), which the
  store checks before it accepts the object; elsewhere the copy is read back and its
  sha256 compared;
- labels become one safe folder name (:func:`sparkvision.sinks.sort.safe_label`);
- every input row is recorded in the manifest, written by the tasks as CSV parts under
  ``TARGET/_manifest/`` (``source, destination, label, action, sha256``; read them with
  ``spark.read.csv("TARGET/_manifest/", header=True)``).

The bytes go from the workers to the store; only the counts per action come back.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import posixpath
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sparkvision.errors import ConfigError, ImageProblem
from sparkvision.sinks.sort import MANIFEST_HEADER, MAX_NAME_BYTES, SortReport, safe_label
from sparkvision.storage.remote import filesystem, read_ahead
from sparkvision.storage.uris import scheme

MANIFEST_PARTS = "_manifest"
#: rows read and copied together in a task (their bytes are held at once, twice)
COPY_CHUNK = 32


def check_store_target(target: str, mode: str) -> None:
    """Refuse, before any job, a sort into ``target`` this cannot do."""
    if mode != "copy":
        raise ConfigError(
            f"`sort_mode` {mode}: into an object store ({target}) images are copied only; an "
            "object store has no links and no atomic rename. Use --mode copy, or sort into a "
            "folder")
    try:
        import fsspec

        fsspec.get_filesystem_class(scheme(target))
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"`sort_into` {target}: no file system for {scheme(target)}:// here "
                          f"({exc}); for s3://: pip install 'sparkvision[s3]'") from None


def sort_frame_into_store(frame: Any, target: str, *,
                          storage: Mapping[str, Any] | None = None) -> SortReport:
    """Copy each row's ``path`` to ``target/<label>/`` in Spark tasks; ``frame`` has
    ``path`` and ``label`` (null for failed images, recorded as ``skipped_failed``)."""
    run = uuid.uuid4().hex[:12]
    target = target.rstrip("/")

    def copy_batches(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        for batch in batches:
            counts = place_rows(zip(batch["path"], batch["label"], strict=True), target, run=run,
                                storage=storage)
            yield pd.DataFrame({"action": list(counts), "n": list(counts.values())},
                               columns=["action", "n"])

    rows = frame.select("path", "label").mapInPandas(copy_batches,
                                                       "action string, n long").collect()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["action"]] = counts.get(row["action"], 0) + int(row["n"])
    return SortReport(manifest=f"{target}/{MANIFEST_PARTS}/", counts=counts)


def sort_rows_into_store(rows: Iterable[tuple[str, str | None]], target: str, *,
                         storage: Mapping[str, Any] | None = None) -> SortReport:
    """The same in this process (the ``python`` execution)."""
    target = target.rstrip("/")
    counts = place_rows(rows, target, run=uuid.uuid4().hex[:12], storage=storage)
    return SortReport(manifest=f"{target}/{MANIFEST_PARTS}/", counts=counts)


def place_rows(rows: Iterable[tuple[str, str | None]], target: str, *, run: str,
               storage: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Copy ``(path, label)`` rows under ``target`` and write their manifest part; the
    count of rows per action."""
    fs, _ = filesystem(target + "/", storage)
    s3 = scheme(target) in ("s3", "s3a")
    rows = list(rows)
    chunks = [rows[i : i + COPY_CHUNK] for i in range(0, len(rows), COPY_CHUNK)]
    sources = [[path if label is not None else None for path, label in chunk]
               for chunk in chunks]
    records: list[list[str]] = []
    counts: dict[str, int] = {}
    for chunk, loaded in zip(chunks, read_ahead(sources, storage), strict=True):
        for (path, label), data in zip(chunk, loaded, strict=True):
            if label is None:
                record = [path, "", "", "skipped_failed", ""]
            else:
                record = _place(fs, s3, path, data, target, str(label), storage)
            records.append(record)
            action = record[3].split(":")[0]
            counts[action] = counts.get(action, 0) + 1
    if records:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(MANIFEST_HEADER)
        writer.writerows(records)
        fs.pipe_file(f"{target}/{MANIFEST_PARTS}/{run}-{uuid.uuid4().hex[:12]}.csv",
                     text.getvalue().encode("utf-8"))
    return counts


def _place(fs: Any, s3: bool, path: str, data: Any, target: str, label: str,
           storage: Mapping[str, Any] | None) -> list[str]:
    folder = f"{target}/{safe_label(label)}"
    try:
        if isinstance(data, str):  # a local path (or a path the workers see)
            from sparkvision.storage.reader import read_image_bytes

            data = read_image_bytes(data, storage)
        if isinstance(data, Exception):
            raise data
        digest = hashlib.sha256(data).hexdigest()
        name = posixpath.basename(path.rstrip("/")) or "image"
        stem, ext = os.path.splitext(name)
        for n in range(10_000):
            suffix = (f"-{n}" if n else "") + ext
            room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
            dest = f"{folder}/{stem.encode('utf-8')[:room].decode('utf-8', 'ignore')}{suffix}"
            if _put_new(fs, s3, dest, data, digest):
                return [path, dest, label, "copied", digest]
            if hashlib.sha256(fs.cat_file(dest)).hexdigest() == digest:
                return [path, dest, label, "exists", digest]
        raise OSError(f"could not find a free name for {name} in {folder}")
    except (ImageProblem, OSError) as exc:
        return [path, "", label, f"error: {exc}", ""]


def _put_new(fs: Any, s3: bool, dest: str, data: bytes, digest: str) -> bool:
    """Write ``data`` at ``dest`` unless something is there (False then), verified."""
    extra = {"ContentMD5": base64.b64encode(hashlib.md5(data).digest()).decode()} if s3 else {}
    try:
        fs.pipe_file(dest, data, mode="create", **extra)
    except FileExistsError:
        return False
    except OSError as exc:
        if "PreconditionFailed" in str(exc) or "412" in str(exc):
            return False
        raise
    if not s3 and hashlib.sha256(fs.cat_file(dest)).hexdigest() != digest:
        raise OSError(f"the copy at {dest} did not verify against the source's sha256")
    return True
