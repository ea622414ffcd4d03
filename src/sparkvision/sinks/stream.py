"""Streaming sinks for ``sparkvision watch``, each exactly-once through the checkpoint.

- **Parquet**: Spark's file sink. Each micro-batch's part files are listed in
  ``OUT/_spark_metadata`` when the batch commits; a batch replayed after a crash writes
  new files and the log lists only one set, so readers that honour the log (Spark:
  ``spark.read.parquet(OUT)``) see every row once. Part files of a batch that never
  committed stay in the folder, unlisted: other readers (pandas, pyarrow) see them.
- **Delta**: no Spark Delta connector ships with pyspark, so each micro-batch is written
  by ``foreachBatch``: Spark writes a Parquet staging copy inside the checkpoint, and the
  ``deltalake`` package commits it to the table together with an application transaction
  ``(app_id, batch_id)``. A replayed batch whose transaction the table already holds is
  skipped, so the table holds each batch once, for every Delta reader.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from sparkvision.errors import MissingExtraError, OutputError

STREAM_FORMATS = ("parquet", "delta")


def start_stream(result: Any, fmt: str, out: str, checkpoint: str, *, app_id: str,
                 trigger: dict[str, Any], name: str | None = None) -> Any:
    """Start writing the streaming DataFrame ``result`` to ``out``; returns the query."""
    writer = (result.writeStream.outputMode("append")
              .option("checkpointLocation", checkpoint).trigger(**trigger))
    if name:
        writer = writer.queryName(name)
    if fmt == "parquet":
        return writer.format("parquet").option("path", out).start()
    if fmt == "delta":
        try:
            import deltalake  # noqa: F401 - checked before the stream starts
        except ImportError as exc:
            raise MissingExtraError("deltalake", "delta", "Writing Delta tables") from exc
        staging = os.path.join(checkpoint, "delta-staging")
        return writer.foreachBatch(DeltaBatchWriter(out, app_id, staging)).start()
    raise OutputError(f"watch writes {' or '.join(STREAM_FORMATS)}; found {fmt!r}")


class DeltaBatchWriter:
    """``foreachBatch`` function: one Delta commit per micro-batch, each at most once."""

    def __init__(self, out: str, app_id: str, staging: str) -> None:
        self.out, self.app_id, self.staging = out, app_id, staging

    def committed(self) -> int:
        """The last batch id committed to the table by this stream (-1: none)."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            version = DeltaTable(self.out).transaction_version(self.app_id)
        except TableNotFoundError:
            return -1
        return -1 if version is None else int(version)

    def __call__(self, batch: Any, batch_id: int) -> None:
        if batch_id <= self.committed():
            return  # replayed after a crash: the table has it already
        folder = os.path.join(self.staging, f"batch-{batch_id}")
        shutil.rmtree(folder, ignore_errors=True)
        batch.write.mode("overwrite").parquet(folder)
        try:
            append_delta(folder, self.out, self.app_id, batch_id)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def append_delta(parquet: str, out: str, app_id: str, version: int) -> None:
    """Append the Parquet files at ``parquet`` to the Delta table ``out`` in one commit
    that records the application transaction ``(app_id, version)``."""
    import pyarrow.dataset as ds
    from deltalake import CommitProperties, Transaction, write_deltalake

    reader = ds.dataset(parquet, format="parquet").scanner().to_reader()
    write_deltalake(out, reader, mode="append", commit_properties=CommitProperties(
        app_transactions=[Transaction(app_id, version)]))
