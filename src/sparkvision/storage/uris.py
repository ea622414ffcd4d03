"""Listing a folder or prefix named by a URI (``s3://bucket/photos/``), with fsspec.

The same rules as a local folder (:func:`sparkvision.storage.listing.resolve_inputs`):
recursive, the extension filter case-insensitive, names (and folders) starting with ``.``
skipped, names starting with ``_`` kept (cameras write ``_DSC0001.JPG``), no partition
columns from ``key=value`` folders, sorted. :mod:`sparkvision.sources.cluster_listing`
runs it inside a Spark task, so the machine that types the command needs neither the
files nor the credentials.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

from sparkvision.errors import InputError
from sparkvision.storage.listing import walk_folder
from sparkvision.storage.reader import to_local_path
from sparkvision.storage.remote import filesystem

#: schemes whose folders Spark lists itself (the cluster's Hadoop file systems)
HADOOP_SCHEMES = ("hdfs", "s3a", "gs", "abfs", "abfss", "wasb", "wasbs", "dbfs", "viewfs")


def scheme(path: str) -> str:
    """The URI scheme of ``path`` (``""`` for a local path; a drive letter is none).

    >>> scheme("s3://pets/photos/"), scheme("/data/x.jpg"), scheme("C:/x.jpg")
    ('s3', '', '')
    """
    found = urlparse(path).scheme
    return found.lower() if len(found) > 1 else ""


def names_a_file(uri: str, extensions: Iterable[str]) -> bool:
    """Whether ``uri`` names one image (its last part ends in an image extension) rather
    than a folder or prefix to list."""
    last = posixpath.basename(urlparse(uri).path.rstrip("/"))
    return bool(last) and not uri.endswith("/") and last.lower().endswith(tuple(extensions))


def find_images(uri: str, extensions: Iterable[str],
                storage: Mapping[str, Any] | None = None) -> list[tuple[str, int, float]]:
    """``(uri, size, modified)`` of every image below the folder or prefix ``uri``, listed
    with the fsspec ``storage`` options.

    A listing that fails (no such bucket, no permission, no fsspec implementation of the
    scheme) raises an :class:`InputError` that names ``uri``.
    """
    exts = tuple(e.lower() for e in extensions)
    if scheme(uri) in ("", "file"):
        return _local_images(uri, exts)
    try:
        fs, root = filesystem(uri, storage)
        found = fs.find(root, detail=True, withdirs=True)
    except ImportError as exc:
        raise InputError(f"cannot list '{uri}': {exc}. Install the file system's package "
                         "(for s3://: pip install 'sparkvision[s3]')") from None
    except FileNotFoundError:
        raise InputError(f"cannot list '{uri}': no such bucket or folder") from None
    except PermissionError as exc:
        raise InputError(f"cannot list '{uri}': permission denied ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - every other listing failure, said with the URI
        raise InputError(f"cannot list '{uri}': {type(exc).__name__}: {exc}") from None
    prefix = f"{scheme(uri)}://"
    rows = []
    top = root.rstrip("/")
    for name, info in found.items():
        relative = name[len(top):].lstrip("/") if name.startswith(top) else name
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        # a folder named like an image is kept, as on disk: its row says it is no image
        if not name.rstrip("/").lower().endswith(exts) or name.rstrip("/") == top:
            continue
        name = name.rstrip("/")
        path = name if "://" in name else prefix + name.lstrip("/")
        rows.append((path, int(info.get("size") or 0), _modified(info)))
    return sorted(rows)


def _local_images(uri: str, exts: tuple[str, ...]) -> list[tuple[str, int, float]]:
    """A folder of the machine this runs on, walked as a listing here walks it."""
    local = to_local_path(uri) or uri
    if not os.path.isdir(local):
        raise InputError(f"cannot list '{uri}': no such folder")
    rows = []
    for path in walk_folder(local, exts):
        info = os.stat(path)
        rows.append((path, info.st_size if os.path.isfile(path) else 0, info.st_mtime))
    return sorted(rows)


def _modified(info: dict) -> float:
    value = info.get("LastModified") or info.get("mtime") or info.get("modified") or 0
    try:
        return float(value.timestamp()) if hasattr(value, "timestamp") else float(value)
    except (TypeError, ValueError):
        return 0.0
