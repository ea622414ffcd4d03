"""Peak memory (RSS) of each Spark Python worker while sparkvision classifies very large
images: several 8000x6000 JPEGs and PNGs (RGB, RGBA, 16-bit grey) among small photos.

Two runs on one local session:

- ``paths``: the command-line job (``run_job``): the workers read each file from its path
  inside the UDF, one file at a time;
- ``content``: a ``binaryFile`` DataFrame through ``sparkvision.classify``: the image bytes
  travel in Arrow batches, bounded by ``spark.sql.execution.arrow.maxBytesPerBatch``.

A thread samples, every 50 ms, the RSS of every process below this one whose command line
is a PySpark daemon or worker, and keeps each one's peak. Results are printed and written
to WORKDIR/memory.json. The numbers in docs/reliability.md come from:

    .venv/bin/python scripts/measure_memory.py /tmp/sv-memory

Usage: python scripts/measure_memory.py WORKDIR [--batch-size N] [--master URL]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time

import numpy as np
import psutil
from PIL import Image

BIG = (8000, 6000)


def big_image(seed: int) -> np.ndarray:
    """An 8000x6000 RGB picture with smooth shapes and mild noise (so it compresses like a
    photo, not like a flat colour)."""
    rng = np.random.default_rng(seed)
    w, h = BIG
    small = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize(BIG, Image.Resampling.BICUBIC))
    noise = rng.integers(-6, 7, (h, w, 3), dtype=np.int16)
    return np.clip(base.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def make_images(folder: str) -> dict[str, int]:
    os.makedirs(folder, exist_ok=True)
    sizes: dict[str, int] = {}

    def save(name: str, img: Image.Image, **kw) -> None:
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            img.save(path, **kw)
        sizes[name] = os.path.getsize(path)

    for i in range(4):
        save(f"big-{i}.jpg", Image.fromarray(big_image(i)), quality=92)
    for i in range(3):
        save(f"big-{i}.png", Image.fromarray(big_image(10 + i)), compress_level=1)
    rgba = Image.fromarray(big_image(20)).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(BIG))
    save("big-rgba.png", rgba, compress_level=1)
    grey16 = (big_image(21)[:, :, 0].astype(np.uint16) * 257)
    save("big-grey16.png", Image.fromarray(grey16), compress_level=1)
    rng = np.random.default_rng(99)
    for i in range(40):
        arr = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        save(f"small-{i:02d}.jpg", Image.fromarray(arr).resize((640, 480)), quality=90)
    return sizes


class WorkerSampler:
    """Peak RSS of each PySpark daemon/worker process below this process."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WorkerSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            for proc in me.children(recursive=True):
                try:
                    cmd = " ".join(proc.cmdline())
                    if "pyspark" in cmd and "java" not in proc.name():
                        rss = proc.memory_info().rss
                        self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0), rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
            self._stop.wait(self.interval)

    def summary(self) -> dict:
        mb = sorted((round(v / 2**20) for v in self.peaks.values()), reverse=True)
        return {"processes": len(mb), "peak_rss_mb": mb[0] if mb else 0, "all_peaks_mb": mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g", help="JVM heap of the local driver "
                        "(it holds the binaryFile rows: 1g is too small for 100 MB files)")
    args = parser.parse_args()

    from sparkvision import classify
    from sparkvision.config import DEFAULT_BATCH_SIZE
    from sparkvision.jobs.pipeline import run_job
    from sparkvision.options import ModelRequest, RunConfig, SparkOptions
    from sparkvision.runtime.session import get_session, open_session

    batch = args.batch_size or DEFAULT_BATCH_SIZE
    images = os.path.join(args.workdir, "images")
    sizes = make_images(images)
    big = {k: round(v / 2**20, 1) for k, v in sizes.items() if k.startswith("big")}
    print(f"{len(sizes)} images, big ones (MB on disk): {big}")

    run = RunConfig(out=os.path.join(args.workdir, "out-paths"), overwrite=True, quiet=True,
                    spark=SparkOptions(master=args.master))
    get_session(args.master, conf={"spark.driver.memory": args.driver_memory})
    # the session above, with the run's Arrow settings
    spark = open_session(run.spark, batch_size=batch)
    results: dict = {"batch_size": batch, "master": args.master, "file_mb": big,
                     "driver_memory": spark.conf.get("spark.driver.memory"),
                     "arrow_max_bytes":
                         spark.conf.get("spark.sql.execution.arrow.maxBytesPerBatch"),
                     "arrow_max_records":
                         spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")}

    with WorkerSampler() as sampler:
        started = time.monotonic()
        summary = run_job([images], ModelRequest(batch_size=batch), run)
    results["paths"] = {**sampler.summary(), "seconds": round(time.monotonic() - started, 1),
                        "ok": summary.ok, "failed": summary.failed_by_kind}
    print("paths:", results["paths"])

    out = os.path.join(args.workdir, "out-content")
    shutil.rmtree(out, ignore_errors=True)
    with WorkerSampler() as sampler:
        started = time.monotonic()
        df = spark.read.format("binaryFile").load(images)
        classify(df, batch_size=batch).write.parquet(out)
    rows = spark.read.parquet(out)
    results["content"] = {**sampler.summary(), "seconds": round(time.monotonic() - started, 1),
                          "rows": rows.count(), "errors": rows.where("error is not null").count()}
    print("content:", results["content"])
    with open(os.path.join(args.workdir, "memory.json"), "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2)
    spark.stop()


if __name__ == "__main__":
    main()
