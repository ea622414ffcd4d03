"""``sparkvision watch``: classify or embed images as they land in a folder.

A Structured Streaming query: Spark's ``binaryFile`` source (explicit schema) lists new
files under the input folder, :func:`sparkvision.jobs.pipeline.apply_model` adds the results
(the same UDF and columns as ``classify``/``embed``), and a sink of
:mod:`sparkvision.sinks.stream` writes each micro-batch exactly once. The checkpoint
records which files were taken and which batches were committed, so a stopped or killed
stream restarted with the same ``--checkpoint`` goes on where it was, without duplicates.

The checkpoint also holds ``sparkvision-watch.json`` (task, model, format, folders and the
stream's Delta application id): a restart with other settings, a checkpoint of another
output, or an output whose checkpoint is lost is refused before anything runs.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sparkvision.config import DEFAULT_EXTENSIONS
from sparkvision.errors import ConfigError, InputError, OutputError
from sparkvision.options import ModelRequest, SparkOptions
from sparkvision.sinks.stream import STREAM_FORMATS, start_stream
from sparkvision.storage.uris import HADOOP_SCHEMES, scheme

#: The binaryFile source's columns; a streaming file source needs its schema up front.
BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"
STATE_FILE = "sparkvision-watch.json"
#: Spark's file source ignores files older than the newest one by more than maxFileAge
#: (default 7 days): a photo copied in with its old timestamp would be skipped. Here the
#: limit is far in the past, so every new file is taken whatever its timestamp.
DEFAULT_MAX_FILE_AGE = "100000d"
#: The metrics each micro-batch reports (DataFrame.observe): images and failures.
METRICS = "sparkvision"


@dataclass(frozen=True)
class WatchConfig:
    """Where a watch reads and writes, and how often it looks."""

    input_dir: str
    out: str
    checkpoint: str
    format: str = "parquet"
    once: bool = False
    interval: float = 10.0
    max_files_per_trigger: int | None = None
    max_file_age: str = DEFAULT_MAX_FILE_AGE
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    spark: SparkOptions = field(default_factory=SparkOptions)

    def __post_init__(self) -> None:
        if self.format not in STREAM_FORMATS:
            raise ConfigError(f"watch writes {' or '.join(STREAM_FORMATS)}; found `format` "
                              f"{self.format!r}")
        if self.interval <= 0:
            raise ConfigError(f"`interval` must be > 0 seconds; found {self.interval}")
        if self.max_files_per_trigger is not None and self.max_files_per_trigger < 1:
            raise ConfigError(f"`max_files_per_trigger` must be >= 1; found "
                              f"{self.max_files_per_trigger}")


@dataclass
class WatchTotals:
    """What one run of the stream did."""

    batches: int = 0
    images: int = 0
    failed: int = 0
    stopped_by_signal: bool = False


def path_glob(extensions: tuple[str, ...]) -> str:
    """A Hadoop glob for file names ending in any of ``extensions``, in any case.

    >>> path_glob((".jpg", ".png"))
    '*.{[jJ][pP][gG],[pP][nN][gG]}'
    """
    def anycase(ext: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c
                       for c in ext.lstrip("."))

    return "*.{" + ",".join(anycase(e) for e in extensions) + "}"


def image_stream(spark: Any, config: WatchConfig) -> Any:
    """The streaming DataFrame of new image files under ``config.input_dir``."""
    reader = (spark.readStream.format("binaryFile").schema(BINARY_FILE_SCHEMA)
              .option("recursiveFileLookup", "true")
              .option("pathGlobFilter", path_glob(config.extensions))
              .option("maxFileAge", config.max_file_age))
    if config.max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", str(config.max_files_per_trigger))
    return reader.load(config.input_dir)


def prepare_locations(config: WatchConfig, settings: dict[str, Any]) -> dict[str, Any]:
    """Check the input, output and checkpoint against each other and return the stream's
    state (``settings`` plus its ``app_id``), written into a new checkpoint."""
    remote = [p for p in (config.out, config.checkpoint) if ":/" in p]
    if remote:
        raise ConfigError(f"watch writes its output and checkpoint to folders of this machine "
                          f"(or a mounted shared file system); found {', '.join(remote)}")
    where = scheme(config.input_dir)
    if where not in ("", "file", *HADOOP_SCHEMES):
        raise ConfigError(
            f"watch cannot watch '{config.input_dir}': new files are found by Spark's file "
            "stream source, which reads Hadoop URIs (file:, hdfs://, s3a://, gs://, "
            f"abfss://, dbfs:/), not {where}:// (an fsspec scheme). Give the same place as a "
            "Hadoop URI (s3://bucket/p/ is s3a://bucket/p/ where the cluster has the "
            "hadoop-aws connector), or classify the prefix in runs instead")
    if not where and not os.path.isdir(config.input_dir):
        raise InputError(f"input folder '{config.input_dir}' does not exist or is not a "
                         "folder; watch needs the folder new images arrive in")
    state_path = os.path.join(config.checkpoint, STATE_FILE)
    if os.path.isfile(state_path):
        with open(state_path, encoding="utf-8") as fh:
            state = json.load(fh)
        changed = [f"{k}: {state.get(k)!r} then, {v!r} now" for k, v in settings.items()
                   if state.get(k) != v]
        if changed:
            raise ConfigError(f"checkpoint '{config.checkpoint}' belongs to a stream with other "
                              f"settings ({'; '.join(changed)}); rerun with those, or start "
                              "a new stream with a new `checkpoint` and `out`")
        if _committed_batches(config.checkpoint) and not os.path.exists(config.out):
            raise OutputError(f"output '{config.out}' is missing but checkpoint "
                              f"'{config.checkpoint}' has already processed images: they "
                              "would be missing from a new output. Restore the output, or "
                              "start over with a new `checkpoint`")
        return state
    if os.path.isdir(config.checkpoint) and os.listdir(config.checkpoint):
        raise ConfigError(f"checkpoint '{config.checkpoint}' is not empty and was not written "
                          "by sparkvision watch; pass a new or empty folder")
    if os.path.exists(config.out) and (not os.path.isdir(config.out) or os.listdir(config.out)):
        raise OutputError(f"output '{config.out}' already exists; a new stream writes a new "
                          "output: pass another `out`, or the `checkpoint` it was written with")
    state = dict(settings, app_id=uuid.uuid4().hex)
    os.makedirs(config.checkpoint, exist_ok=True)
    with open(state_path, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=2)
    return state


def _committed_batches(checkpoint: str) -> bool:
    commits = os.path.join(checkpoint, "commits")
    return os.path.isdir(commits) and any(not n.startswith(".") for n in os.listdir(commits))


def run_watch(model: ModelRequest, config: WatchConfig, *,
              echo: Callable[[str], None] = print) -> WatchTotals:
    """Run the stream until it is stopped (SIGINT / SIGTERM), or, with ``config.once``,
    until the files present at the start are done; returns what this run did."""
    from pyspark.sql import functions as F

    from sparkvision.jobs.pipeline import apply_model
    from sparkvision.jobs.prepare import prepare_model
    from sparkvision.runtime.session import open_session

    spark = open_session(config.spark, batch_size=model.batch_size, model_pass=True)
    spec = prepare_model(model, spark)
    settings = {"task": model.task, "model": spec.name, "format": config.format,
                "input": _absolute(config.input_dir), "out": _absolute(config.out)}
    state = prepare_locations(config, settings)
    frame = image_stream(spark, config).drop("modificationTime", "length")
    result = apply_model(frame, spec, batch_size=model.batch_size, content_col="content")
    result = result.observe(METRICS, F.count(F.lit(1)).alias("images"),
                            F.count("error").alias("failed"))
    trigger = {"availableNow": True} if config.once else {
        "processingTime": f"{config.interval} seconds"}
    totals = WatchTotals()
    with stop_signals() as stop:
        query = start_stream(result, config.format, config.out, config.checkpoint,
                             app_id=state["app_id"], trigger=trigger)
        echo(f"watching '{config.input_dir}' -> '{config.out}' ({config.format}); "
             + ("processing what is there" if config.once else "Ctrl-C stops"))
        follow(query, totals, stop, echo)
    return totals


def follow(query: Any, totals: WatchTotals, stop: threading.Event,
           echo: Callable[[str], None]) -> None:
    """Report each finished micro-batch until the query ends or ``stop`` is set."""
    seen = -1
    while query.isActive and not stop.is_set():
        query.awaitTermination(0.5)
        seen = report(query, seen, totals, echo)
    if stop.is_set():
        totals.stopped_by_signal = True
        query.stop()
    report(query, seen, totals, echo)
    error = query.exception()
    # a stop asked for by a signal may fail the batch it interrupts: that is no failure
    if error is not None and not totals.stopped_by_signal:
        raise RuntimeError(f"the stream failed: {error}")


def report(query: Any, seen: int, totals: WatchTotals, echo: Callable[[str], None]) -> int:
    """Echo and count the micro-batches after ``seen``; returns the last batch id."""
    for progress in query.recentProgress:
        batch = int(progress["batchId"])
        if batch <= seen:
            continue
        seen = batch
        metrics = observed(progress)
        images = metrics["images"] if "images" in metrics else int(
            progress["numInputRows"] or 0)
        failed = metrics.get("failed", 0)
        if images:
            totals.batches += 1
            totals.images += images
            totals.failed += failed
            echo(f"batch {batch}: {images} images, {failed} failed (this run: "
                 f"{totals.images} images, {totals.failed} failed)")
    return seen


def observed(progress: Any) -> dict[str, int]:
    """The counts :data:`METRICS` observed in a micro-batch (empty when it has none).

    A classic session gives them as a Row with named fields; a Spark Connect client reads
    the progress back from JSON, where the Row holds ``values`` and their ``schema``.

    >>> from pyspark.sql import Row
    >>> observed({"observedMetrics": {"sparkvision": Row(images=3, failed=1)}})
    {'images': 3, 'failed': 1}
    >>> observed({"observedMetrics": {"sparkvision": Row(values=[3, 1], schema={
    ...     "fields": [{"name": "images"}, {"name": "failed"}]})}})
    {'images': 3, 'failed': 1}
    """
    row = (progress["observedMetrics"] or {}).get(METRICS)
    if row is None:
        return {}
    values = row.asDict()
    if set(values) == {"values", "schema"}:
        names = [field["name"] for field in values["schema"]["fields"]]
        values = dict(zip(names, values["values"], strict=True))
    return {key: int(value) for key, value in values.items() if value is not None}


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM set the event instead of raising, so the stream stops between
    two calls to the JVM; the handlers before are put back afterwards."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _absolute(path: str) -> str:
    return path if "://" in path else os.path.abspath(path)

