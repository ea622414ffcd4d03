"""Small files beside a written table (``_summary.json``, the run record that ``--resume``
checks), written and read through the output's own file system.

A folder of this machine is written with ``open()`` (atomically); an output named by a
URI (``file:``, ``hdfs://``, ``s3a://``, ``abfss://``...) through the Hadoop file system
Spark wrote the table with, so the file lands where the table is, with the cluster's
connectors and credentials. A Spark Connect client has no handle on the server's Hadoop
file systems: there a URI output gets no side file (the table itself is complete), and
``--resume`` finds no record to compare with.
"""

from __future__ import annotations

import os
from typing import Any

from sparkvision.storage.files import write_atomically


def write_text(spark: Any, folder: str, name: str, text: str) -> bool:
    """Write ``text`` as ``folder/name``; False where it cannot be written (no such local
    folder, or a URI without a classic session)."""
    if "://" not in folder and not folder.startswith("file:"):
        if not os.path.isdir(folder):
            return False
        write_atomically(os.path.join(folder, name), text.encode("utf-8"))
        return True
    handle = _hadoop(spark, folder, name)
    if handle is None:
        return False
    fs, path = handle
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()
    return True


def read_text(spark: Any, folder: str, name: str) -> str | None:
    """The text of ``folder/name``, or None where there is none (or it cannot be reached)."""
    if "://" not in folder and not folder.startswith("file:"):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    handle = _hadoop(spark, folder, name)
    if handle is None:
        return None
    fs, path = handle
    if not fs.exists(path):
        return None
    stream = fs.open(path)
    try:
        jvm = spark._jvm
        data = jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
    return str(data)


def _hadoop(spark: Any, folder: str, name: str) -> tuple[Any, Any] | None:
    """The Hadoop file system of ``folder`` and the path of ``name`` in it, on a classic
    session (None under Spark Connect or without a session)."""
    if spark is None:
        return None
    from sparkvision.runtime.session import is_connect

    if is_connect(spark):
        return None
    jvm = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(folder.rstrip("/") + "/" + name)
    return path.getFileSystem(spark._jsc.hadoopConfiguration()), path
