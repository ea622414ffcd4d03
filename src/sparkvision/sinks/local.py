"""Writing result tables without Spark, one batch at a time (the ``python`` execution).

:class:`LocalTableWriter` takes pandas batches as they come out of the model and streams
them into one part file with pyarrow's writers, so memory stays bounded by one batch. The
output has the layout and columns of Spark's writer, so the same readers (and
:func:`sparkvision.sinks.tables.read_table`) work on it:

- ``DIR/part-00000-<id>.<ext>`` and an empty ``DIR/_SUCCESS`` written at commit;
- Parquet with the same column types as Spark's (``float`` is float32, arrays are lists);
- CSV with a header, array columns as JSON text (as :func:`write_table` writes them);
- JSON lines with null fields written as ``null`` (as :func:`write_table` writes them, so an
  all-ok output still has its ``error`` columns);
- Delta through the ``deltalake`` package, from a Parquet staging copy.

Until commit the part file has a temporary name; a failed run removes what it wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

import numpy as np
import pandas as pd

from sparkvision.errors import MissingExtraError, OutputError
from sparkvision.sinks.tables import FORMATS, check_writable

_EXTENSIONS = {"parquet": ".parquet", "csv": ".csv", "json": ".json"}


def arrow_schema(ddl: str):
    """A pyarrow schema for a Spark DDL list of ``name type`` fields.

    >>> arrow_schema("path string, score float, top5 array<string>").types
    [DataType(string), DataType(float), ListType(list<element: string>)]
    """
    import pyarrow as pa

    scalars = {"string": pa.string(), "float": pa.float32(), "double": pa.float64(),
               "int": pa.int32(), "bigint": pa.int64(), "boolean": pa.bool_()}

    def convert(kind: str):
        if kind.startswith("array<") and kind.endswith(">"):
            return pa.list_(pa.field("element", convert(kind[6:-1])))
        if kind not in scalars:
            raise OutputError(f"no Arrow type for the Spark type {kind!r} in {ddl!r}")
        return scalars[kind]

    fields = []
    for part in ddl.split(","):
        name, kind = part.strip().split(" ", 1)
        fields.append(pa.field(name, convert(kind.strip())))
    return pa.schema(fields)


class LocalTableWriter:
    """Stream pandas batches into ``out`` as ``fmt`` (parquet, csv, json or delta).

    Use as a context manager: the output is committed when the block ends normally and
    removed when it raises.
    """

    def __init__(self, out: str, fmt: str, schema, *, overwrite: bool = False) -> None:
        if fmt not in FORMATS:
            raise OutputError(
                f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}"
            )
        check_writable(out, "overwrite" if overwrite else "errorifexists")
        if fmt == "delta":
            try:
                import deltalake  # noqa: F401
            except ImportError as exc:
                raise MissingExtraError("deltalake", "delta", "Writing Delta tables") from exc
        self.out = out
        self.fmt = fmt
        self.schema = schema
        self.overwrite = overwrite
        # Delta is staged as Parquet beside the table, then committed by deltalake.
        self.folder = out.rstrip("/") + ".staging-parquet" if fmt == "delta" else out
        ext = _EXTENSIONS.get(fmt, ".parquet")
        self.final = os.path.join(self.folder, f"part-00000-{uuid.uuid4()}{ext}")
        self.tmp = os.path.join(self.folder, f".{os.path.basename(self.final)}.inprogress")
        self.rows = 0
        self._writer: Any = None  # a pyarrow CSV or Parquet writer
        self._fh: TextIO | None = None

    def __enter__(self) -> LocalTableWriter:
        if self.overwrite and os.path.lexists(self.out):
            _remove(self.out)
        if self.fmt == "delta":
            shutil.rmtree(self.folder, ignore_errors=True)
        os.makedirs(self.folder, exist_ok=True)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append one batch; its columns must be the schema's, in any order."""
        import pyarrow as pa

        if self.fmt == "json":
            if self._fh is None:
                self._fh = open(self.tmp, "w", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
            names = self.schema.names
            for row in frame[names].itertuples(index=False, name=None):
                record = {k: _json_value(v) for k, v in zip(names, row, strict=True)}
                self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.rows += len(frame)
            return
        table = pa.Table.from_pandas(_for_arrow(frame[self.schema.names]), schema=self.schema,
                                     preserve_index=False)
        if self.fmt == "csv":
            table = _arrays_as_json(table)
            if self._writer is None:
                import pyarrow.csv as pcsv

                self._writer = pcsv.CSVWriter(self.tmp, table.schema)
        elif self._writer is None:
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="snappy")
        self._writer.write_table(table)
        self.rows += len(frame)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self._writer is None and self._fh is None:
            # No rows at all: still an empty, readable part file with the schema.
            empty = {name: pd.Series([], dtype=object) for name in self.schema.names}
            self.write(pd.DataFrame(empty))
        if self._writer is not None:
            self._writer.close()
        if self._fh is not None:
            self._fh.close()
        if exc_type is not None:
            _remove(self.folder)
            return
        if not os.path.exists(self.tmp):  # JSON with no rows opens no file
            open(self.tmp, "w").close()
        os.replace(self.tmp, self.final)
        open(os.path.join(self.folder, "_SUCCESS"), "w").close()
        if self.fmt == "delta":
            self._commit_delta()

    def _commit_delta(self) -> None:
        from sparkvision.sinks.tables import delta_from_parquet

        try:
            delta_from_parquet(self.final, self.out, "overwrite" if self.overwrite else "error")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def read_columns(out: str, fmt: str, columns: Sequence[str]) -> Iterator[tuple]:
    """Rows of ``columns`` from a table written by :class:`LocalTableWriter` or by Spark
    into a local folder (streamed)."""
    for batch in column_batches(out, fmt, columns):
        yield from zip(*(batch.column(c).to_pylist() for c in columns), strict=True)


def column_batches(out: str, fmt: str, columns: Sequence[str]) -> Iterator[Any]:
    """``columns`` of the local table ``out`` as pyarrow record batches, read by this
    process. Only committed files are rows: names that start with ``_`` or ``.`` (Spark's
    ``_temporary`` and ``_SUCCESS``, sparkvision's side files) are skipped, as Spark's
    reader skips them."""
    yield from _dataset(out, fmt).to_batches(columns=list(columns))


def table_columns(out: str, fmt: str) -> list[str]:
    """The column names of the local table ``out``; none where it has no file or cannot
    be read here."""
    try:
        return list(_dataset(out, fmt).schema.names)
    except (OSError, ValueError):
        return []


def _dataset(out: str, fmt: str) -> Any:
    import pyarrow.dataset as ds

    if fmt == "delta":
        from deltalake import DeltaTable

        return ds.dataset(DeltaTable(out).file_uris(), format="parquet")
    return ds.dataset(out, format=fmt, exclude_invalid_files=False,
                      ignore_prefixes=[".", "_"])


def _for_arrow(frame: pd.DataFrame) -> pd.DataFrame:
    """NaN in object columns (pandas' missing value) -> None, which Arrow reads as null."""
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = [None if isinstance(v, float) and v != v else v for v in frame[name]]
    return frame


def _arrays_as_json(table):
    import pyarrow as pa

    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_list(field.type):
            values = [None if v is None else json.dumps(v) for v in column.to_pylist()]
            columns.append(pa.array(values, pa.string()))
            fields.append(pa.field(field.name, pa.string()))
        else:
            columns.append(column)
            fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.dtype == np.float32:
            return [float(x) for x in value.astype(str)]  # float32's shortest decimal form
        return value.tolist()
    if isinstance(value, (np.floating, float)):
        if value != value:
            return None
        return float(str(np.float32(value)))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
