"""Images per second from an object store with latency against the same JPEGs on disk.

The same ``--images`` generated JPEGs (the bench's data set) are classified twice with
the default execution on all cores: from the local folder, and from ``s3://bench/photos/``
on moto's S3 server behind a proxy that adds ``--latency-ms`` to every request (and answers
every ``--throttle-every``-th request ``503 SlowDown``, 0: never). The runs alternate,
``--repeats`` times each; the figure is the model pass's images/s from ``_summary.json``
and the command's wall time. The S3 server runs in this process, so its CPU time (moto
parses and answers every request in Python, a few ms each) is taken from the same cores as
the job: it is printed beside the results, since a real store costs this machine none.

Usage: python scripts/measure_s3.py WORKDIR [--images 1000] [--latency-ms 20] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--throttle-every", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    import s3fs

    from sparkvision.bench.dataset import make_dataset
    from sparkvision.bench.s3local import local_s3

    folder = os.path.join(args.workdir, "photos")
    paths = make_dataset(args.images, folder)
    cli = os.path.join(os.path.dirname(sys.executable), "sparkvision")
    with local_s3(latency_ms=args.latency_ms, throttle_every=args.throttle_every) as s3:
        env = {**os.environ, **s3.env()}
        fs = s3fs.S3FileSystem(key=env["AWS_ACCESS_KEY_ID"], secret=env["AWS_SECRET_ACCESS_KEY"],
                               client_kwargs={"endpoint_url": s3.endpoint})
        fs.mkdir("bench")
        fs.put([p for p in paths], "bench/photos/")
        print(f"{args.images} JPEGs ({sum(map(os.path.getsize, paths)) / 1e6:.1f} MB) on disk "
              f"and under s3://bench/photos/ (+{args.latency_ms:g} ms per request"
              + (f", every {args.throttle_every}th answered 503 SlowDown"
                 if args.throttle_every else "") + ")", flush=True)

        def run(source: str) -> dict:
            out = os.path.join(args.workdir, "out")
            shutil.rmtree(out, ignore_errors=True)
            requests, cpu = s3.requests, _own_cpu()
            started = time.monotonic()
            done = subprocess.run([cli, "classify", source, "--out", out, "--quiet"],
                                  env=env, capture_output=True, text=True)
            wall = time.monotonic() - started
            if done.returncode:
                raise SystemExit(done.stdout + done.stderr)
            with open(os.path.join(out, "_summary.json"), encoding="utf-8") as fh:
                summary = json.load(fh)
            assert summary["inputs"] == args.images and summary["failed"] == 0, summary
            return {"img_s": summary["images_per_s"], "wall": wall,
                    "requests": s3.requests - requests, "server_cpu": _own_cpu() - cpu}

        results: dict[str, list[dict]] = {"disk": [], "s3": []}
        for _ in range(args.repeats):
            results["disk"].append(run(folder))
            results["s3"].append(run("s3://bench/photos/"))
    for name, runs in results.items():
        print(f"{name:>5}: model pass {statistics.mean(r['img_s'] for r in runs):7.1f} img/s, "
              f"wall {statistics.mean(r['wall'] for r in runs):6.1f} s"
              + (f", {runs[-1]['requests']} requests, S3 server CPU "
                 f"{runs[-1]['server_cpu']:.1f} s" if name == "s3" else "")
              + f"   runs {[r['img_s'] for r in runs]}")
    ratio = (statistics.mean(r["img_s"] for r in results["s3"])
             / statistics.mean(r["img_s"] for r in results["disk"]))
    print(f"s3 / disk: {ratio:.2f}x")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
