"""What a Spark task costs around the model, and what unequal tasks cost at the end of a job.

1. A Pandas UDF that returns its input, writing Parquet, over 2,000 path strings cut into
   2, 8, 32 and 128 partitions (local[2], one warm session): the time per extra task is
   what Spark and PySpark add to every task, whatever the model.
2. ``sparkvision``'s iterator over the photos of ``--photos`` (the bench's data set:
   ``sparkvision bench`` writes it to OUT/images) in 2 and 8 tasks, with each task holding
   a run of consecutive inputs (as before 0.3) and every n-th input (now): the seconds of
   each task and of the run, three runs each after a warm-up.

Usage: python scripts/measure_task_cost.py --photos BENCH_OUT/images [--images 2000]
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile
import time
from collections.abc import Iterator

import pandas as pd  # module level: pandas_udf resolves the hints in this module's names


def trivial_udf(spark, out: str) -> None:
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")  # type: ignore[call-overload]
    def same(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        yield from batches

    paths = [(f"/photos/{i}.jpg",) for i in range(2000)]
    print("identity Pandas UDF over 2000 strings, writing Parquet (best of 3 after one):")
    for parts in (2, 8, 32, 128):
        df = spark.createDataFrame(spark.sparkContext.parallelize(paths, parts), "path string")
        times = []
        for _ in range(4):
            started = time.perf_counter()
            df.select(same("path").alias("r")).write.mode("overwrite").parquet(out)
            times.append(time.perf_counter() - started)
        print(f"  {parts:4d} tasks: {min(times[1:]):.3f} s")


def iterator_runs(spark, photos: list[str], out: str) -> None:
    import sparkvision.jobs.pipeline as pipeline
    import sparkvision.sources.frames as frames
    from sparkvision.jobs.prepare import prepare_model
    from sparkvision.options import ModelRequest, RunConfig, SparkOptions

    spec = prepare_model(ModelRequest(model="catdog", batch_size=32), spark, probe=False)
    run = RunConfig(out=out, spark=SparkOptions(master="local[2]"), overwrite=True, quiet=True)
    interleave = frames.interleave
    print(f"iterator, catdog fp32, {len(photos)} photos, batch 32 (seconds of three rounds "
          "after a warm-up, the settings taking turns so that the machine's drift hits all):")
    settings = [(tasks, name, order) for tasks in (2, 8)
                for name, order in (("consecutive", lambda rows, parts: list(rows)),
                                    ("every n-th", interleave))]
    walls: dict[tuple[int, str], list[float]] = {(t, n): [] for t, n, _ in settings}
    for round_ in range(4):
        for tasks, name, order in settings:
            pipeline.BATCHES_PER_TASK = -(-len(photos) // (32 * tasks))
            frames.interleave = order
            started = time.perf_counter()
            pipeline.predict_to_table(spark, spec, run, photos, None, "parquet",
                                      info={"task": "classify"}, batch_size=32)
            if round_ > 0:
                walls[(tasks, name)].append(time.perf_counter() - started)
    for (tasks, name), seconds in walls.items():
        print(f"  {tasks} tasks, {name:11s}: " + ", ".join(f"{w:.2f}" for w in seconds)
              + f" s (mean {sum(seconds) / len(seconds):.2f})")
    frames.interleave = interleave


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", required=True, help="a folder of JPEGs (bench data set)")
    parser.add_argument("--images", type=int, default=2000)
    args = parser.parse_args()
    photos = sorted(glob.glob(os.path.join(args.photos, "*.jpg")))[: args.images]
    if not photos:
        parser.error(f"expected JPEGs in {args.photos}, found none: run sparkvision bench "
                     "--out OUT once and pass OUT/images")

    from sparkvision.runtime.session import get_session

    spark = get_session("local[2]")
    with tempfile.TemporaryDirectory() as tmp:
        trivial_udf(spark, os.path.join(tmp, "same.parquet"))
        iterator_runs(spark, photos, os.path.join(tmp, "preds.parquet"))
    spark.stop()


if __name__ == "__main__":
    main()
