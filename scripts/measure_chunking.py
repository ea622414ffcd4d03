"""What committing the output in chunks costs: the same job with the default chunk size
and with one chunk (``--chunk-size 0``), alternated, after one warm-up run.

Usage: python scripts/measure_chunking.py WORKDIR [--images 2048] [--repeats 3]
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
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    from drawing import write_images

    from sparkvision.pipeline import Job, run_job
    from sparkvision.resume import default_chunk_size
    from sparkvision.spark import get_session

    folder = os.path.join(args.workdir, "images")
    if not os.path.isdir(folder):
        write_images(folder, [f"img-{i:05d}.jpg" for i in range(args.images)], size=(96, 72))
    spark = get_session(args.master)
    default = default_chunk_size(spark.sparkContext.defaultParallelism, 4 * 32)

    def run(chunk_size):
        out = os.path.join(args.workdir, "out")
        shutil.rmtree(out, ignore_errors=True)
        job = Job(task="classify", inputs=(folder,), out=out, master=args.master,
                  chunk_size=chunk_size, quiet=True)
        return run_job(job).seconds

    run(0)  # warm-up: Python workers start and load the model
    times: dict[str, list[float]] = {"default": [], "one chunk": []}
    for _ in range(args.repeats):
        times["default"].append(run(None))
        times["one chunk"].append(run(0))
    chunks = -(-args.images // default)
    for name, values in times.items():
        print(f"{name:>9}: mean {statistics.mean(values):.2f} s  runs {values}")
    print(f"{args.images} images, default chunk {default} images = {chunks} chunks")


if __name__ == "__main__":
    main()
