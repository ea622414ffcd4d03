"""Reading images from object stores (``s3://``, ``gs://``, ``az://``, ...) through fsspec:
many requests at once, the next model batch fetched while this one is decoded.

- :class:`StorageOptions` are the keyword arguments of the fsspec file system
  (``--storage-option KEY=VALUE``; ``client_kwargs.endpoint_url=...`` makes a nested
  key). Values of secret-looking keys are masked wherever the options are printed.
- :func:`fetch` reads a list of URIs with up to :data:`CONCURRENT_READS` requests in
  flight (fsspec's ``cat_ranges``, asynchronous for s3fs, gcsfs and adlfs).
- :func:`read_ahead` runs a task's model batches through :func:`fetch` one batch ahead,
  so a task holds the bytes of at most two model batches.
- Retries and timeouts are the client library's: for ``s3://`` botocore's ``standard``
  retry mode (exponential backoff with jitter on 503 SlowDown, other 5xx and timeouts)
  with :data:`S3_DEFAULTS`, under s3fs's own retries; there is no retry loop here. What
  still fails becomes the image's error: ``missing``, ``forbidden`` or
  ``remote_unavailable``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sparkvision.errors import ImageProblem
from sparkvision.storage.files import MAX_FILE_BYTES

#: requests in flight per task; with the read-ahead of one model batch a task holds at
#: most two model batches of file bytes
CONCURRENT_READS = 16
#: botocore settings for ``s3://`` unless the user's options say otherwise: retries on
#: throttling (503 SlowDown), 5xx and timeouts with exponential backoff and jitter, and a
#: per-request timeout
S3_DEFAULTS: dict[str, Any] = {
    "config_kwargs": {"retries": {"max_attempts": 8, "mode": "standard"},
                      "connect_timeout": 10, "read_timeout": 60},
    # one GET per image: s3fs would otherwise ask for the size first (a HEAD) to split
    # large objects into ranges, which photos do not need
    "max_concurrency": 1,
}


def _merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    into = json.loads(json.dumps(base))
    _merge(into, extra)
    return into


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def filesystem(uri: str, options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """The fsspec file system of ``uri`` with ``options`` (and the s3 defaults), and the
    path inside it."""
    import fsspec

    protocol = uri.split("://", 1)[0].lower()
    opts = dict(options or {})
    if protocol in ("s3", "s3a"):
        opts = _merged(S3_DEFAULTS, opts)
    return fsspec.core.url_to_fs(uri, **opts)


def fetch(uris: Sequence[str], options: Mapping[str, Any] | None = None) -> list[Any]:
    """The bytes of each URI, in order, or the :class:`ImageProblem` that says why not."""
    out: list[Any] = [None] * len(uris)
    groups: dict[str, list[int]] = {}
    for i, uri in enumerate(uris):
        groups.setdefault(uri.split("://", 1)[0].lower(), []).append(i)
    for indexes in groups.values():
        try:
            fs, _ = filesystem(uris[indexes[0]], options)
        except (ImportError, ValueError) as exc:
            # ImportError: the scheme's package is missing; ValueError: fsspec knows no
            # such scheme
            problem = ImageProblem(
                "unsupported_scheme",
                f"cannot read '{uris[indexes[0]]}': {exc}; install fsspec and the file "
                "system's package on the workers (for s3://: pip install 'sparkvision[s3]'), "
                "or load the images with spark.read.format('binaryFile') and pass that "
                "DataFrame (its content column is used)")
            for i in indexes:
                out[i] = problem
            continue
        paths = [fs._strip_protocol(uris[i]) for i in indexes]
        # an asynchronous file system (s3fs, gcsfs, adlfs) keeps that many requests in
        # flight; a synchronous one reads one file after another
        extra = {"batch_size": CONCURRENT_READS} if getattr(fs, "async_impl", False) else {}
        got = fs.cat_ranges(paths, None, None, on_error="return", **extra)
        for i, value in zip(indexes, got, strict=True):
            out[i] = _result(uris[i], value)
    return out


def _result(uri: str, value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        if len(value) > MAX_FILE_BYTES:
            return ImageProblem("too_large", f"'{uri}' is {len(value):,} bytes, above the "
                                f"{MAX_FILE_BYTES:,}-byte file limit")
        return bytes(value)
    return problem_for(uri, value)


def problem_for(uri: str, exc: BaseException) -> ImageProblem:
    """The per-image error for a read of ``uri`` that failed with ``exc`` (after the
    client's own retries)."""
    if isinstance(exc, ImageProblem):
        return exc
    if isinstance(exc, (FileNotFoundError, IsADirectoryError)):
        return ImageProblem("missing", f"could not read '{uri}': no such object; check that "
                            "it was not moved or deleted after the inputs were listed")
    if isinstance(exc, PermissionError):
        return ImageProblem("forbidden", f"could not read '{uri}': access denied; give the "
                            "workers' credentials read access to it")
    text = str(exc).splitlines()[0] if str(exc) else ""
    return ImageProblem(
        "remote_unavailable",
        f"could not read '{uri}': the store did not answer it ({type(exc).__name__}: "
        f"{text}) after the client's retries; rerun with --resume to retry the failed rows")


def is_remote(item: object) -> bool:
    """Whether ``item`` is a URI read through fsspec (not a local path or ``file:``)."""
    return isinstance(item, str) and "://" in item and not item.startswith("file:")


def read_ahead(chunks: Sequence[Sequence[object]],
               options: Mapping[str, Any] | None = None) -> Iterator[list[object]]:
    """Each chunk of items with its remote URIs replaced by their bytes (or error); the
    next chunk is fetched in the background while the caller works on this one. Chunks
    without a URI are passed through as they are (local files are read later, one at a
    time)."""
    if not any(is_remote(item) for chunk in chunks for item in chunk):
        yield from (list(chunk) for chunk in chunks)
        return

    def load(chunk: Sequence[object]) -> list[object]:
        where = [i for i, item in enumerate(chunk) if is_remote(item)]
        items = list(chunk)
        if where:
            for i, value in zip(where, fetch([str(chunk[i]) for i in where], options),
                                strict=True):
                items[i] = value
        return items

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sparkvision-read") as pool:
        pending = pool.submit(load, chunks[0]) if chunks else None
        for number in range(len(chunks)):
            assert pending is not None
            current = pending.result()
            pending = pool.submit(load, chunks[number + 1]) if number + 1 < len(chunks) else None
            yield current
