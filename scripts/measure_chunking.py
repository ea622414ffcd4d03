"""What committing the output in chunks costs: the same job cut into chunks of
``--chunk-size`` images and in one chunk (``--chunk-size 0``), alternated, after one warm-up
run. The difference divided by the extra chunks is the cost of one chunk boundary.

Usage: python scripts/measure_chunking.py WORKDIR [--images 2048] [--chunk-size 1024] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir")
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    from helpers.drawing import write_images
    from sparkvision.jobs.pipeline import run_job
    from sparkvision.options import ModelRequest, RunConfig, SparkOptions
    from sparkvision.runtime.session import get_session

    folder = os.path.join(args.workdir, "images")
    if not os.path.isdir(folder):
        write_images(folder, [f"img-{i:05d}.jpg" for i in range(args.images)], size=(96, 72))
    get_session(args.master)

    def run(chunk_size):
        out = os.path.join(args.workdir, "out")
        shutil.rmtree(out, ignore_errors=True)
        run_config = RunConfig(out=out, chunk_size=chunk_size, quiet=True,
                               spark=SparkOptions(master=args.master))
        return run_job([folder], ModelRequest(), run_config).seconds

    run(0)  # warm-up: Python workers start and load the model
    times: dict[str, list[float]] = {"chunked": [], "one chunk": []}
    for _ in range(args.repeats):
        times["chunked"].append(run(args.chunk_size))
        times["one chunk"].append(run(0))
    chunks = -(-args.images // args.chunk_size)
    for name, values in times.items():
        print(f"{name:>9}: mean {statistics.mean(values):.2f} s  runs {values}")
    extra = statistics.mean(times["chunked"]) - statistics.mean(times["one chunk"])
    print(f"{args.images} images in {chunks} chunks of {args.chunk_size}: "
          f"{extra / max(1, chunks - 1):.2f} s per chunk boundary")


if __name__ == "__main__":
    main()
