"""Committed chunks and ``--resume``: a killed run loses at most the chunk in flight.

A job's inputs are cut into chunks of ``chunk_size`` images (by default 16 Spark tasks per
core, see :func:`default_chunk_size`) and each chunk is written as its own Spark job with
Spark's commit protocol, appending to ``--out``:

- a task writes its part file under ``OUT/_temporary/``; only a committed job moves its
  part files to their final names (each a single atomic rename on a local or HDFS file
  system), and writes ``_SUCCESS``;
- so a run killed at any moment (``SIGKILL``, a lost machine) leaves complete part files of
  the chunks that committed, possibly some complete part files of the chunk that was
  committing, and debris under ``OUT/_temporary`` that no reader looks at (Spark and
  pyarrow ignore names starting with ``_`` or ``.``);
- every part file holds whole rows, and every row carries its input ``path``.

``--resume`` therefore removes the debris, reads the ``path`` column of what is in
``OUT``, and runs only the inputs not in it, appending further chunks. The result holds
each input exactly once, however many times the run was killed. ``_sparkvision_run.json``
records what the output was made with, so a resume with another task, model, format,
label option or decode mode (``fast``/``exact``, see :mod:`sparkvision.imaging.preprocess`)
is refused instead of mixing two kinds of rows. An output recorded before decode modes
existed was decoded ``fast``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from typing import Any

from sparkvision.errors import ConfigError, OutputError
from sparkvision.sinks.side_files import read_text, write_text

RUN_INFO = "_sparkvision_run.json"
#: Tasks per core in one chunk. Smaller chunks lose less work to a kill, but every chunk
#: ends with cores idle while its last tasks finish (0.7 to 1.5 s per chunk measured on 2
#: cores, docs/reliability.md): 8 tasks of 1,024 images keep that to a few percent of the
#: run.
CHUNKS_TASKS_PER_CORE = 8


def default_chunk_size(parallelism: int, rows_per_partition: int) -> int:
    """Images per committed chunk: ``CHUNKS_TASKS_PER_CORE`` tasks per core.

    >>> default_chunk_size(2, 1024)
    16384
    """
    return max(1, CHUNKS_TASKS_PER_CORE * max(1, parallelism) * max(1, rows_per_partition))


def plan_chunks(total: int, chunk_size: int | None) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges covering ``total`` items; ``chunk_size`` 0 or None: one.

    >>> plan_chunks(10, 4), plan_chunks(3, 0), plan_chunks(0, 4)
    ([(0, 4), (4, 8), (8, 10)], [(0, 3)], [])
    """
    if total <= 0:
        return []
    size = chunk_size if chunk_size and chunk_size > 0 else total
    return [(start, min(total, start + size)) for start in range(0, total, size)]


def hash_chunks(total: int, chunk_size: int | None) -> int:
    """How many chunks ``total`` inputs are cut into when each input's chunk is a hash of
    its path modulo that number (inputs held by Spark, not as a list): about
    ``chunk_size`` each.

    A chunk is then the same inputs however often its rows are computed again, and an
    input is in exactly one chunk. With ``--resume`` the inputs already in the output are
    left out before the chunks are made (a left-anti join on ``path``); read again while
    this run appends, that join can drop only rows of chunks written already.

    >>> hash_chunks(10_000, 4096), hash_chunks(3, 0), hash_chunks(0, 4)
    (3, 1, 0)
    """
    if total <= 0:
        return 0
    size = chunk_size if chunk_size and chunk_size > 0 else total
    return -(-total // size)


#: what an output recorded before decode modes existed was decoded with
EARLIER_DECODE = "fast"


def run_info(task: str, model: str, fmt: str, labelled: bool, decode: str | None = None) -> dict:
    """What must stay the same between a run and its resume.

    >>> run_info("classify", "catdog", "parquet", False, "fast")["decode"]
    'fast'
    """
    info = {"task": task, "model": str(model), "format": fmt, "label_true": bool(labelled)}
    if decode is not None:
        info["decode"] = decode
    return info


def write_run_info(out: str, info: dict, spark: Any = None) -> None:
    """The run record beside the table, through its file system (a Hadoop URI with
    ``spark``'s; :mod:`sparkvision.sinks.side_files`)."""
    write_text(spark, out, RUN_INFO, json.dumps(info, indent=2, sort_keys=True))


def check_run_info(out: str, info: dict, spark: Any = None) -> None:
    """Refuse to resume into an output made with other settings."""
    text = read_text(spark, out, RUN_INFO)
    if text is None:
        return
    earlier = json.loads(text)
    if "decode" in info:
        earlier.setdefault("decode", EARLIER_DECODE)
    differ = {k: (earlier.get(k), v) for k, v in info.items() if earlier.get(k) != v}
    if "decode" in differ:
        was, now = differ["decode"]
        raise ConfigError(
            f"cannot resume into '{out}': its rows were decoded with decode={was!r} and this "
            f"run asks for decode={now!r}; the two modes give slightly different scores, so "
            f"one output must not mix them. Rerun with `decode` {was} (decode={was!r} in "
            "Python, or the model card's decode key) to finish it, or choose another `out`"
        )
    if differ:
        what = "; ".join(f"{k}: earlier {a!r}, now {b!r}" for k, (a, b) in sorted(differ.items()))
        raise ConfigError(
            f"cannot resume into '{out}': it was written with other settings ({what}). "
            "Rerun with the earlier settings, or choose another `out`"
        )


def clean_incomplete(spark, out: str, fmt: str) -> list[str]:
    """Remove what a killed run leaves that is not committed output; returns what went.

    ``OUT/_temporary`` (uncommitted task and job attempts), ``OUT/.spark-staging-*`` and
    a Delta write's ``OUT.staging-parquet`` copy. Committed part files are kept. A classic
    session deletes through Spark's Hadoop file system (any URI it reads); otherwise a
    folder this machine sees is cleaned here. Under Spark Connect, debris this machine
    cannot see is refused with what to delete: committed tasks of a killed job left under
    ``_temporary`` would otherwise be committed again by the next chunk.
    """
    removed: list[str] = []
    fs = _hadoop_fs(spark, out)
    local = _local_dir(out) if fs is None else None
    if fs is not None:
        jvm, hfs = fs
        root = jvm.org.apache.hadoop.fs.Path(out)
        if hfs.exists(root):
            for status in hfs.listStatus(root):
                if _is_debris(status.getPath().getName()):
                    hfs.delete(status.getPath(), True)
                    removed.append(str(status.getPath()))
    elif local is not None:
        for name in os.listdir(local):
            if _is_debris(name):
                shutil.rmtree(os.path.join(local, name), ignore_errors=True)
                removed.append(os.path.join(local, name))
    elif _spark_lists_files(spark, out.rstrip("/") + "/_temporary", recursive=True):
        raise OutputError(
            f"'{out}/_temporary' holds uncommitted files of a killed run, which this machine "
            "cannot delete (the output is not a folder it sees, and a Spark Connect session "
            f"has no Hadoop file system). Delete '{out}/_temporary' where the output lives, "
            "then rerun with `resume`"
        )
    if fmt == "delta":
        staging = out.rstrip("/") + ".staging-parquet"
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


def has_committed_data(spark, out: str, fmt: str) -> bool:
    """Whether ``out`` holds any committed rows to resume from."""
    if fmt == "delta":
        return _exists(spark, out.rstrip("/") + "/_delta_log")
    fs = _hadoop_fs(spark, out)
    if fs is not None:
        jvm, hfs = fs
        root = jvm.org.apache.hadoop.fs.Path(out)
        if not hfs.exists(root):
            return False
        return any(_is_data(s.getPath().getName()) for s in hfs.listStatus(root))
    local = _local_dir(out)
    if local is not None:
        return any(_is_data(name) for name in os.listdir(local))
    return _spark_lists_files(spark, out)


def done_paths(spark, out: str, fmt: str) -> set[str]:
    """The ``path`` of every row already committed in ``out`` (empty if none)."""
    table = done_frame(spark, out, fmt)
    if table is None:
        return set()
    return {row[0] for row in table.toLocalIterator()}


def done_frame(spark, out: str, fmt: str):
    """The ``path`` column of the rows already committed in ``out``, as a DataFrame (None
    if there are none)."""
    from sparkvision.sinks.tables import read_table

    if not has_committed_data(spark, out, fmt):
        return None
    try:
        table = read_table(spark, out, fmt)
    except Exception as exc:  # say which output and what to do
        raise OutputError(
            f"cannot resume from '{out}': its committed files could not be read as {fmt} "
            f"({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
            "Check `format`, or choose another `out`"
        ) from exc
    if "path" not in table.columns:
        raise OutputError(
            f"cannot resume from '{out}': it has no 'path' column (found "
            f"{', '.join(table.columns)}); it was not written by sparkvision"
        )
    return table.select("path")


def pending(paths: list[str], labels: list | None,
            done: Iterable[str]) -> tuple[list[str], list | None]:
    """The inputs (and their labels) not in ``done``, in their original order."""
    done = done if isinstance(done, (set, frozenset)) else set(done)
    keep = [i for i, p in enumerate(paths) if p not in done]
    return [paths[i] for i in keep], ([labels[i] for i in keep] if labels is not None else None)


def _is_data(name: str) -> bool:
    return not name.startswith(("_", "."))


def _is_debris(name: str) -> bool:
    return name == "_temporary" or name.startswith(".spark-staging-")


def _local_dir(path: str) -> str | None:
    """``path`` as a folder of this machine's file system, or None if it is not one."""
    from sparkvision.storage.reader import to_local_path

    local = to_local_path(path)
    return local if local is not None and os.path.isdir(local) else None


def _exists(spark, path: str) -> bool:
    fs = _hadoop_fs(spark, path)
    if fs is not None:
        jvm, hfs = fs
        return bool(hfs.exists(jvm.org.apache.hadoop.fs.Path(path)))
    from sparkvision.storage.reader import to_local_path

    local = to_local_path(path)
    if local is not None and (os.path.exists(local) or not _is_connect(spark)):
        return os.path.exists(local)
    return _spark_lists_files(spark, path)


def _spark_lists_files(spark, path: str, *, recursive: bool = False) -> bool:
    """Whether Spark (the server, under Spark Connect) lists any file at ``path``: how a
    Connect client looks at an output it does not see itself."""
    if not _is_connect(spark):
        return False
    reader = spark.read.format("binaryFile")
    if recursive:
        reader = reader.option("recursiveFileLookup", "true")
    try:
        return bool(reader.load(path).select("path").limit(1).collect())
    except Exception as exc:
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
            return False
        raise


def _is_connect(spark) -> bool:
    from sparkvision.runtime.session import is_connect

    return spark is not None and is_connect(spark)


def _hadoop_fs(spark, path: str):
    """(jvm, FileSystem) for ``path`` through a classic session's Hadoop configuration,
    or None (Spark Connect, or no session): then only local paths are handled here."""
    if spark is None or _is_connect(spark):
        return None
    try:
        jvm = spark.sparkContext._jvm
        conf = spark.sparkContext._jsc.hadoopConfiguration()
        return jvm, jvm.org.apache.hadoop.fs.Path(path).getFileSystem(conf)
    except Exception:  # noqa: BLE001
        return None
