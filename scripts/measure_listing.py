"""How long listing a large prefix takes: ``--objects`` keys under ``s3://big/photos/`` on the
local S3 server, listed the way ``classify s3://big/photos/`` lists them (a Spark task with
fsspec, local[*] session), and with fsspec in this process for comparison.

The objects are written straight into moto's store in this process (a few bytes each: the
listing reads no bytes), in ``--folders`` folders, with one name in 50 not an image
(``.txt``) and one in 100 starting with ``_`` (kept) or ``.`` (skipped), so the filter is
part of the work. ``--latency-ms`` adds that much to every request (a listing is one
request per 1000 keys).

Usage: python scripts/measure_listing.py [--objects 100000] [--folders 100] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import os
import resource
import time


def _name(i: int, folders: int) -> str:
    folder = f"roll-{i % folders:03d}"
    if i % 50 == 7:
        return f"{folder}/notes-{i}.txt"
    if i % 100 == 3:
        return f"{folder}/_DSC{i:06d}.JPG"
    if i % 100 == 11:
        return f"{folder}/.thumb-{i}.jpg"
    return f"{folder}/img-{i:06d}.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--folders", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    from sparkvision.bench.s3local import local_s3
    from sparkvision.config import DEFAULT_EXTENSIONS
    from sparkvision.runtime.session import get_session
    from sparkvision.sources.cluster_listing import list_inputs
    from sparkvision.storage.uris import find_images

    names = [_name(i, args.folders) for i in range(args.objects)]
    expected = sum(1 for n in names if not n.endswith(".txt") and "/." not in n)
    with local_s3(latency_ms=args.latency_ms) as s3:
        os.environ.update(s3.env())
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        backend.create_bucket("big", "us-east-1")
        started = time.monotonic()
        for name in names:
            backend.put_object("big", f"photos/{name}", b"x")
        print(f"{args.objects:,} objects under s3://big/photos/ in {args.folders} folders "
              f"({expected:,} images to find), written in {time.monotonic() - started:.1f} s; "
              f"+{args.latency_ms:g} ms per request", flush=True)

        requests = s3.requests
        started = time.monotonic()
        here = find_images("s3://big/photos/", DEFAULT_EXTENSIONS)
        print(f"fsspec in this process: {len(here):,} images in "
              f"{time.monotonic() - started:.1f} s, {s3.requests - requests} requests"
              if s3.proxy is not None else
              f"fsspec in this process: {len(here):,} images in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        assert len(here) == expected, (len(here), expected)

        spark = get_session(None)
        spark.range(1).count()  # the session and a Python worker up before the clock
        before = _peak_rss_mb()
        started = time.monotonic()
        paths = list_inputs("s3://big/photos/", session=lambda: spark)
        seconds = time.monotonic() - started
        count = len(paths) if isinstance(paths, list) else paths.count()
        print(f"listed by a Spark task (as classify does): {count:,} images in {seconds:.1f} s; "
              f"this process's peak RSS {before:.0f} -> {_peak_rss_mb():.0f} MB", flush=True)
        assert count == expected, (count, expected)
        spark.stop()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
