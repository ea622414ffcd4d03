"""Writing a result DataFrame as Parquet, CSV, JSON lines or Delta.

Spark writes every format but Delta itself, through its commit protocol: part files appear
under their final names only when the job commits, with a ``_SUCCESS`` marker. Delta is
written by Spark when the session has Delta Lake configured, else by the ``deltalake``
package from a committed Parquet staging copy (``pip install 'sparkvision[delta]'``).
"""

from __future__ import annotations

import os
import shutil

from sparkvision.errors import MissingExtraError, OutputError

FORMATS = ("parquet", "csv", "json", "delta")
_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".json": "json",
             ".jsonl": "json", ".ndjson": "json", ".delta": "delta"}


def format_for(out: str, fmt: str | None) -> str:
    """The explicit ``fmt``, else the one ``out``'s suffix names, else Parquet."""
    if fmt:
        if fmt not in FORMATS:
            raise OutputError(
                f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}"
            )
        return fmt
    return _SUFFIXES.get(os.path.splitext(out.rstrip("/"))[1].lower(), "parquet")


def check_writable(out: str, mode: str) -> None:
    """Refuse to write over an existing ``out`` unless the mode says otherwise."""
    if mode == "errorifexists" and os.path.exists(out):
        raise OutputError(
            f"output '{out}' already exists; choose another `out`, pass `overwrite` to "
            "replace it, or `resume` to finish an earlier run"
        )


def write_table(df, out: str, fmt: str, *, mode: str = "errorifexists") -> None:
    """Write ``df`` to ``out``; arrays become JSON text in CSV, which has no arrays."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, MapType, StructType

    check_writable(out, mode)
    if fmt == "csv":
        df = df.select(
            *[
                F.to_json(F.col(f.name)).alias(f.name)
                if isinstance(f.dataType, (ArrayType, MapType, StructType))
                else F.col(f.name)
                for f in df.schema.fields
            ]
        )
    # "error" is Spark's name for errorifexists that Spark Connect accepts too
    writer = df.write.mode("error" if mode == "errorifexists" else mode)
    if fmt == "csv":
        writer.option("header", "true").option("escape", '"').csv(out)
    elif fmt == "json":
        writer.option("ignoreNullFields", "false").json(out)
    elif fmt == "parquet":
        writer.parquet(out)
    elif fmt == "delta":
        _write_delta(df, out, mode)
    else:
        raise OutputError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _write_delta(df, out: str, mode: str) -> None:
    conf = df.sparkSession.conf
    extensions = conf.get("spark.sql.extensions", "") or ""
    if "delta" in extensions.lower():
        df.write.format("delta").mode(mode if mode != "errorifexists" else "error").save(out)
        return
    try:
        import deltalake  # noqa: F401 - checked before Spark writes the staging copy
    except ImportError as exc:
        raise MissingExtraError("deltalake", "delta", "Writing Delta tables") from exc
    staging = out.rstrip("/") + ".staging-parquet"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        df.write.mode("overwrite").parquet(staging)
        delta_from_parquet(staging, out, mode)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def delta_from_parquet(parquet: str, out: str, mode: str) -> None:
    """Commit the Parquet files at ``parquet`` (a file or folder) as a Delta table at
    ``out``, streaming record batches (the ``deltalake`` package, no JVM)."""
    import pyarrow.dataset as ds
    from deltalake import write_deltalake

    reader = ds.dataset(parquet, format="parquet").scanner().to_reader()
    if mode == "overwrite":
        write_deltalake(out, reader, mode="overwrite")
    else:
        write_deltalake(out, reader, mode="append" if mode == "append" else "error")


def read_table(spark, out: str, fmt: str):
    """Read back what :func:`write_table` wrote (for summaries and sorting)."""
    if fmt == "delta":
        try:
            from deltalake import DeltaTable

            files = DeltaTable(out).file_uris()
            return spark.read.parquet(*files)
        except ImportError:
            return spark.read.format("delta").load(out)
    if fmt == "csv":
        # multiLine: a quoted file name may hold a newline.
        return (spark.read.option("header", "true").option("escape", '"')
                .option("multiLine", "true").csv(out))
    return spark.read.format(fmt).load(out)
