"""Folders, globs and path-list files -> a sorted, de-duplicated list of image paths.

Listing happens on the driver; the bytes are read later by the workers, so a listing of
millions of files costs only their names.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable, Sequence

from sparkvision.config import DEFAULT_EXTENSIONS
from sparkvision.errors import InputError
from sparkvision.options import parse_extensions
from sparkvision.storage.reader import to_local_path

LIST_SUFFIXES = (".txt", ".lst", ".csv", ".parquet", ".pq")
#: the columns a path-list file or a DataFrame may name its paths in, first match wins
PATH_COLUMNS = ("path", "file", "filename", "image", "uri")


def normalize_extensions(extensions: Iterable[str] | None) -> tuple[str, ...]:
    """``extensions`` as :func:`sparkvision.options.parse_extensions` reads them (``None``:
    the defaults; an empty list stays empty: nothing matches)."""
    if extensions is None:
        return DEFAULT_EXTENSIONS
    given = tuple(extensions)
    return parse_extensions(given) if given else ()


def resolve_inputs(
    inputs: str | Sequence[str],
    *,
    extensions: Iterable[str] | None = None,
    path_col: str | None = None,
) -> list[str]:
    """Expand folders (recursively), globs and path-list files into image paths.

    - a folder: every file below it whose extension is in ``extensions``;
    - a glob (``photos/**/*.jpg``): the matching files, filtered the same way;
    - a ``.txt``/``.lst`` file: one path per line; ``.csv``/``.parquet``: the ``path_col``
      column (default: the first of path, file, filename, image, uri). Listed paths are
      kept whatever their extension: the user named them;
    - an image file or a URI: itself.

    >>> resolve_inputs([])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sparkvision.errors.InputError: no inputs given: expected one or more folders, globs, ...
    """
    found, _ = expand_inputs(inputs, extensions=extensions, path_col=path_col)
    return check_found(found, inputs, extensions)


def expand_inputs(
    inputs: str | Sequence[str],
    *,
    extensions: Iterable[str] | None = None,
    path_col: str | None = None,
    elsewhere: Callable[[str], bool] | None = None,
) -> tuple[list[str], list[str]]:
    """``(paths, deferred)``: the inputs expanded here as :func:`resolve_inputs` does, and
    the inputs for which ``elsewhere(item)`` is true, left to be listed where the data is
    (:mod:`sparkvision.sources.cluster_listing`)."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [os.fspath(inputs)]
    if not inputs:
        raise InputError(
            "no inputs given: expected one or more folders, globs, image files or path-list files"
        )
    exts = normalize_extensions(extensions)
    found: list[str] = []
    deferred: list[str] = []
    for raw in inputs:
        item = os.fspath(raw)
        if elsewhere is not None and elsewhere(item):
            deferred.append(item)
        else:
            found.extend(_expand(item, exts, path_col))
    return found, deferred


def check_found(found: Iterable[str], inputs: str | Sequence[str],
                extensions: Iterable[str] | None) -> list[str]:
    """``found`` sorted without repeats; an InputError when it is empty."""
    unique = sorted(set(found))
    if not unique:
        named = [inputs] if isinstance(inputs, str) else list(inputs)
        raise InputError(
            f"no images found in {', '.join(map(str, named))}: expected files ending in "
            f"{', '.join(normalize_extensions(extensions))}. Check the paths, or pass "
            "`extensions` to accept other types"
        )
    return unique


def _expand(item: str, exts: tuple[str, ...], path_col: str | None) -> list[str]:
    local = to_local_path(item)
    if local is None:
        return [item]  # a remote URI: the workers read it
    if os.path.isdir(local):
        return walk_folder(local, exts)
    if glob.has_magic(local):
        matches = glob.glob(local, recursive=True)
        if not matches:
            raise InputError(f"the pattern '{item}' matched no files; check the pattern")
        out: list[str] = []
        for m in matches:
            if os.path.isdir(m):
                continue
            if m.lower().endswith(exts):
                out.append(os.path.abspath(m))
        return out
    if local.lower().endswith(LIST_SUFFIXES) and os.path.isfile(local):
        return read_path_list(local, path_col)
    if os.path.lexists(local):
        return [os.path.abspath(local)]
    raise InputError(
        f"input '{item}' does not exist: expected a folder, a glob, an image file or a "
        f"path-list file ({', '.join(LIST_SUFFIXES)})"
    )


def walk_folder(root: str, exts: tuple[str, ...]) -> list[str]:
    """Every file below ``root`` ending in ``exts`` (and folders named like one), ``.``
    names and folders skipped, as absolute paths."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or not name.lower().endswith(exts):
                continue
            out.append(os.path.abspath(os.path.join(dirpath, name)))
        # A directory named like an image is an input the user would expect to see
        # accounted for, so it is kept and reported as an error row by the workers.
        out.extend(
            os.path.abspath(os.path.join(dirpath, d)) for d in dirnames if d.lower().endswith(exts)
        )
    return out


def read_path_list(path: str, path_col: str | None = None) -> list[str]:
    """Paths listed in a text, CSV or Parquet file, relative ones taken from its folder."""
    base = os.path.dirname(os.path.abspath(path))
    lower = path.lower()
    if lower.endswith((".txt", ".lst")):
        with open(path, encoding="utf-8") as fh:
            values = [line.strip() for line in fh]
        values = [v for v in values if v and not v.startswith("#")]
    else:
        import pandas as pd

        frame = pd.read_csv(path) if lower.endswith(".csv") else pd.read_parquet(path)
        column = path_column(path, path_col, list(frame.columns))
        values = [str(v) for v in frame[column].dropna()]
    return [v if "://" in v or os.path.isabs(v) else os.path.join(base, v) for v in values]


_PREFIX = re.compile(r"^([^\W\d_]+)", re.UNICODE)


def label_from_path(path: str, how: str) -> str | None:
    """The true label of ``path``: its parent folder's name, or its file-name prefix
    (``cat.1.jpeg`` -> ``cat``), lower-cased.

    >>> label_from_path("/data/train/Dog/x.jpg", "folder")
    'dog'
    >>> label_from_path("cat.12.jpeg", "filename")
    'cat'
    """
    trimmed = path.rstrip("/")
    if how == "folder":
        parent = os.path.basename(os.path.dirname(trimmed))
        return parent.lower() or None
    if how == "filename":
        match = _PREFIX.match(os.path.basename(trimmed))
        return match.group(1).lower() if match else None
    raise InputError(f"`label_from` must be 'folder' or 'filename'; found {how!r}")


def path_column(path: str, path_col: str | None, columns: Sequence[object]) -> str:
    """The column of the list file ``path`` that holds the paths: ``path_col``, else the
    first of :data:`PATH_COLUMNS` it has; an InputError naming what it has otherwise."""
    column = path_col or next((c for c in PATH_COLUMNS if c in columns), None)
    if column is None or column not in columns:
        raise InputError(
            f"'{path}' has no path column: expected "
            f"{repr(path_col) if path_col else 'one of ' + ', '.join(PATH_COLUMNS)}, "
            f"found columns {', '.join(map(str, columns))}. Pass `path_col` NAME")
    return column
