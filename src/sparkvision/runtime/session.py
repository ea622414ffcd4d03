"""Creating (or reusing) the SparkSession sparkvision runs on: a classic one (``--master``)
or a Spark Connect one (``--remote sc://HOST:PORT`` or ``SPARK_REMOTE``).

Nothing here touches ``sparkContext`` on a Connect session: :func:`is_connect` tells the two
kinds apart, and :func:`default_parallelism` and :func:`task_cpus` answer for both.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from sparkvision.errors import ConfigError, MissingExtraError
from sparkvision.options import MASK, SparkOptions, is_secret_key
from sparkvision.runtime.timing import phase

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
#: Every local core, up to 4 attempts per task (Spark's default on a cluster).
DEFAULT_MASTER = "local[*,4]"
#: Bytes per batch of rows sent to a Python worker (a batch holds at least one row).
ARROW_MAX_BYTES = 64 * 1024 * 1024
#: Spark Connect's default port.
CONNECT_PORT = 15002
#: Session settings sparkvision sets on every session it makes. Image bytes in flight to a
#: Python worker are bounded in bytes, not only in rows (docs/reliability.md): Arrow batches
#: for the Pandas UDFs (Spark 4's default, made explicit) and pickled batches for the row UDF
#: (unbounded by default).
SESSION_DEFAULTS = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxBytesPerBatch": str(ARROW_MAX_BYTES),
    "spark.sql.execution.python.udf.maxBytesPerBatch": str(ARROW_MAX_BYTES),
}
#: JVM options of a local session whose jobs run a model in Python workers (classify, embed,
#: watch): there the JVM only moves rows between files and workers, and its second JIT
#: tier spends more CPU compiling that code than it saves in one run, CPU the workers need
#: (docs/benchmarks.md, "Spark's share of the time"). Jobs that do their own work in the
#: JVM (dedup's pairs: 2.5x slower with it) keep the JVM's default.
MODEL_PASS_JAVA_OPTIONS = ("-XX:TieredStopAtLevel=1",)


def open_session(options: SparkOptions | None = None, *,
                 batch_size: int | None = None, model_pass: bool = False) -> Any:
    """The one way sparkvision opens a session: :func:`get_session` for ``options``
    (where to run, ``conf``, ``verbose``); for a job that runs a model in batches of
    ``batch_size``, Arrow batches hold four model batches (at least 64 rows). A
    ``model_pass`` job (its work all in the Python workers) gets a new local session's JVM
    with :data:`MODEL_PASS_JAVA_OPTIONS`. The options' own ``conf`` comes last, so it wins
    (``spark.driver.extraJavaOptions`` included)."""
    options = options or SparkOptions()
    settings: dict[str, str] = {}
    if batch_size is not None:
        settings["spark.sql.execution.arrow.maxRecordsPerBatch"] = str(max(4 * batch_size, 64))
    settings.update(dict(options.conf))
    with phase("spark_start"):
        return get_session(options.master, remote=options.remote, conf=settings,
                           verbose=options.verbose,
                           java_options=MODEL_PASS_JAVA_OPTIONS if model_pass else ())


def will_connect(options: SparkOptions | None = None) -> bool:
    """Whether :func:`open_session` with ``options`` gives a Spark Connect session (known
    before it is opened: ``remote``, or ``$SPARK_REMOTE`` with no ``master`` and no active
    classic session)."""
    options = options or SparkOptions()
    if options.remote:
        return True
    if options.master:
        return False
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return is_connect(active)
    return bool(os.environ.get("SPARK_REMOTE"))


def get_session(master: str | None = None, *, remote: str | None = None,
                app_name: str = "sparkvision", conf: Mapping[str, str] | None = None,
                verbose: bool = False, java_options: Sequence[str] = ()) -> Any:
    """The session a run uses.

    - ``remote`` (``sc://HOST:PORT``): a Spark Connect session to that server;
    - ``master``: a new classic session (default ``local[*,4]``: every core, and a failed
      task, a Python worker that crashed, is retried up to 4 times, as on a cluster);
    - neither: the active session if there is one, else Connect to ``$SPARK_REMOTE`` when
      it is set, else a new local session.

    ``java_options`` go to a new session's JVM when its master is local (there the driver's
    JVM runs the tasks). ``conf`` are Spark settings (``--conf KEY=VALUE``) for the new
    session; on a Connect session only the ones a session may change are accepted. Spark's
    start-up chatter stays off the terminal unless ``verbose``. A classic session's Python
    workers run this interpreter (unless ``PYSPARK_PYTHON`` or ``spark.pyspark.python`` say
    otherwise).
    """
    if master and remote:
        raise ConfigError(f"`master` {master} and `remote` {remote} both say where to run; "
                          "pass one (`remote` for a Spark Connect server)")
    if remote is None and master is None:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        remote = os.environ.get("SPARK_REMOTE") or None
    if remote:
        return connect_session(remote, conf=conf)
    return _classic_session(master or DEFAULT_MASTER, app_name, dict(conf or {}), verbose,
                            java_options)


def _classic_session(master: str, app_name: str, conf: dict[str, str], verbose: bool,
                     java_options: Sequence[str] = ()) -> Any:
    from pyspark.sql import SparkSession

    from sparkvision.runtime.startup import quiet_jvm_start

    # PySpark's SparkContext takes the workers' interpreter from PYSPARK_PYTHON only: a
    # --conf spark.pyspark.python is passed on through it
    if conf.get("spark.pyspark.python"):
        os.environ["PYSPARK_PYTHON"] = conf["spark.pyspark.python"]
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.python.worker.reuse", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
    )
    for key, value in SESSION_DEFAULTS.items():
        builder = builder.config(key, value)
    if is_loopback(master):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    jvm = driver_java_options(master, java_options, verbose)
    if jvm:
        builder = builder.config("spark.driver.extraJavaOptions", jvm)
    for key, value in conf.items():
        builder = builder.config(key, value)
    with quiet_jvm_start(enabled=not verbose):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN" if verbose else "ERROR")
    return spark


def driver_java_options(master: str, java_options: Sequence[str], verbose: bool) -> str:
    """The JVM options of a new classic session: ``java_options`` where the master is local
    (on a cluster the tasks run in the executors' JVMs), and sparkvision's quiet logging
    unless ``verbose``.

    >>> driver_java_options("spark://h:7077", ["-Xa"], True)
    ''
    >>> driver_java_options("local[2]", ["-Xa"], True)
    '-Xa'
    """
    jvm = list(java_options) if master.startswith("local") else []
    if not verbose:
        log_conf = os.path.join(os.path.dirname(__file__), "log4j2.properties")
        jvm.append(f"-Dlog4j2.configurationFile=file:{log_conf}")
    return " ".join(jvm)


def connect_session(url: str, *, conf: Mapping[str, str] | None = None) -> Any:
    """A Spark Connect session to ``url`` (``sc://HOST:PORT``), with ``conf`` applied.

    The server is checked to listen first (a refused connection is said at once instead of
    after the client's ten minutes of retries). A setting a Connect session cannot change
    (``spark.task.cpus``, executor resources, ``spark.pyspark.python``...) is fixed when the
    server starts: asking for another value is refused with where to set it.
    """
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(exc.name or "grpcio", "connect",
                                f"Spark Connect (`remote` {url})") from None
    from pyspark.sql import SparkSession

    check_listening(url)
    spark = SparkSession.builder.remote(url).getOrCreate()
    for key, value in SESSION_DEFAULTS.items():
        spark.conf.set(key, value)
    for key, value in (conf or {}).items():
        _set_connect_conf(spark, url, key, str(value))
    return spark


def check_listening(url: str, timeout: float = 10.0) -> None:
    """Raise a ConfigError unless something accepts TCP connections at ``url``'s host:port."""
    if not url.startswith("sc://"):
        raise ConfigError(f"`remote` expects a Spark Connect URL sc://HOST:PORT; found {url!r}")
    parsed = urlparse("http://" + url[len("sc://"):].split("/;", 1)[0].rstrip("/"))
    host, port = parsed.hostname or "", parsed.port or CONNECT_PORT
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        raise ConfigError(
            f"cannot reach a Spark Connect server at {url} ({host}:{port}: "
            f"{exc.strerror or exc}). Start one (on this machine: make connect-up) or check "
            "`remote` / SPARK_REMOTE"
        ) from None


def _set_connect_conf(spark: Any, url: str, key: str, value: str) -> None:
    if spark.conf.isModifiable(key):
        spark.conf.set(key, value)
        return
    current = spark.conf.get(key, None)
    if current == value:
        return
    if is_secret_key(key):
        value, current = MASK, MASK if current is not None else None
    has = f"has {current}" if current is not None else "leaves it at Spark's default"
    raise ConfigError(
        f"`conf` {key}={value}: a Spark Connect session cannot change {key} (the server at "
        f"{url} {has}); it is fixed when the server starts: pass `conf` "
        f"{key}={value} to the server's start-connect-server.sh (or spark-defaults.conf)"
    )


def is_connect(spark: Any) -> bool:
    """True for a Spark Connect session (no SparkContext, no JVM in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def is_loopback(master: str) -> bool:
    if master.startswith("local"):
        return True
    host = urlparse(master).hostname or ""
    return host in LOOPBACK


def server_is_local(spark: Any) -> bool:
    """Whether the session's jobs run on this machine: a local master, or a Spark Connect
    server on a loopback address whose own master is local or loopback."""
    if not is_connect(spark):
        return is_loopback(spark.sparkContext.master)
    if spark.client.host not in LOOPBACK:
        return False
    return is_loopback(spark.conf.get("spark.master", "") or "")


def jobs_write_here(spark: Any) -> bool:
    """Whether the files a job of ``spark`` writes into a local folder are this machine's:
    a classic session whose jobs run here (a local master, or a cluster on a loopback
    address). False for Spark Connect and for a session that cannot say."""
    try:
        return not is_connect(spark) and server_is_local(spark)
    except Exception:  # noqa: BLE001 - a stopped session, a mock: assume not
        return False


def task_cpus(spark: Any) -> int:
    """CPUs Spark gives each task: the engine threads that avoid oversubscription."""
    try:
        return max(1, int(spark.conf.get("spark.task.cpus", "1") or "1"))
    except Exception:  # noqa: BLE001 - an unusual value
        return 1


def session_key(spark: Any) -> str:
    """An id of the session: its application's on a classic session, the Spark Connect
    session id otherwise."""
    if is_connect(spark):
        return str(spark.session_id)
    return str(spark.sparkContext.applicationId)


_parallelism: dict[str, int] = {}


def default_parallelism(spark: Any) -> int:
    """Cores the session's jobs run on: ``defaultParallelism`` of a classic session; under
    Spark Connect ``spark.default.parallelism`` if set, else the partitions of
    ``spark.range`` (one small job, once per session)."""
    if not is_connect(spark):
        return max(1, spark.sparkContext.defaultParallelism)
    key = session_key(spark)
    if key not in _parallelism:
        value = spark.conf.get("spark.default.parallelism", None)
        if value:
            _parallelism[key] = max(1, int(value))
        else:
            from pyspark.sql import functions as F

            parts = spark.range(0, 4096).select(F.spark_partition_id().alias("p"))
            _parallelism[key] = max(1, parts.agg(F.countDistinct("p")).collect()[0][0])
    return _parallelism[key]
