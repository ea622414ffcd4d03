"""Creating (or reusing) the SparkSession sparkvision runs on."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse

LOOPBACK = ("127.0.0.1", "localhost")
#: Every local core, up to 4 attempts per task (Spark's default on a cluster).
DEFAULT_MASTER = "local[*,4]"
#: Bytes per batch of rows sent to a Python worker (a batch holds at least one row).
ARROW_MAX_BYTES = 64 * 1024 * 1024


def get_session(master: str | None = None, *, app_name: str = "sparkvision",
                conf: dict | None = None):
    """The active session if there is one and no master is asked for, else a new one.

    ``master`` defaults to ``local[*,4]``: every core, and a failed task (a Python worker
    that crashed) is retried up to 4 times, as on a cluster (plain ``local[N]`` never
    retries). Python workers run the interpreter that runs the driver, so the installed
    sparkvision and its engine are found there.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    master = master or DEFAULT_MASTER
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        # Image bytes in flight to a Python worker are bounded in bytes, not only in rows
        # (docs/reliability.md): Arrow batches for the Pandas UDFs (Spark 4's default,
        # made explicit) and pickled batches for the row UDF (unbounded by default).
        .config("spark.sql.execution.arrow.maxBytesPerBatch", str(ARROW_MAX_BYTES))
        .config("spark.sql.execution.python.udf.maxBytesPerBatch", str(ARROW_MAX_BYTES))
    )
    if is_loopback(master):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    log_conf = os.path.join(os.path.dirname(__file__), "log4j2.properties")
    builder = builder.config(
        "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_conf}"
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def is_loopback(master: str) -> bool:
    if master.startswith("local"):
        return True
    host = urlparse(master).hostname or ""
    return host in LOOPBACK


def task_cpus(spark) -> int:
    """CPUs Spark gives each task: the engine threads that avoid oversubscription."""
    try:
        return max(1, int(spark.conf.get("spark.task.cpus", "1")))
    except Exception:  # noqa: BLE001 - Spark Connect or an unusual value
        return 1


def default_parallelism(spark) -> int:
    try:
        return max(1, spark.sparkContext.defaultParallelism)
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return max(1, os.cpu_count() or 1)
