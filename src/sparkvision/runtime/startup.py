"""Spark's start-up chatter kept off the terminal of a classic session.

The JVM that PySpark starts writes to the standard error it inherits. Some of what it
writes cannot be switched off by a log configuration: ``WARNING: Using incubator modules:
jdk.incubator.vector`` comes from the JVM itself (Spark's launcher always adds that module),
and MLlib's native-BLAS probe prints ``netlib-blas: JNI_OnLoad: dlopen(libblas.so.3)
failed`` before it falls back to its Java BLAS. So while the session starts, file
descriptor 2 is a pipe: the JVM inherits it for its whole life, and a thread copies each
line it writes to the real standard error, except those known lines. Everything else
(errors Spark logs, a Python worker's traceback) still reaches the terminal. ``--verbose``
skips all of this.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

#: Lines the JVM prints while it starts, which say nothing to a sparkvision user.
CHATTER = re.compile(
    r"^(WARNING: Using incubator modules"
    r"|Setting default log level to"
    r"|To adjust logging level use sc\.setLogLevel"
    r"|Using Spark's default log4j profile"
    r"|\S+ \S+ WARN NativeCodeLoader: Unable to load native-hadoop library"
    # MLlib (dedup's LSH) trying a system BLAS first; it runs on its Java BLAS without one
    r"|netlib-\w+: JNI_OnLoad: dlopen\(\S+\) failed)"
)


def _forward(read_fd: int, out_fd: int) -> None:
    """Copy lines from ``read_fd`` to ``out_fd`` until the writers close, dropping CHATTER."""
    with os.fdopen(read_fd, "rb", buffering=0) as pipe, os.fdopen(out_fd, "wb", 0) as out:
        pending = b""
        while True:
            data = pipe.read(65536)
            if not data:
                break
            pending += data
            *lines, pending = pending.split(b"\n")
            kept = [line + b"\n" for line in lines
                    if not CHATTER.match(line.decode("utf-8", "replace"))]
            if kept:
                out.write(b"".join(kept))
        if pending:
            out.write(pending)


@contextlib.contextmanager
def quiet_jvm_start(enabled: bool = True) -> Iterator[None]:
    """While this block runs, a JVM started by it writes its standard error through the
    filter (for as long as it lives); this process's own standard error is restored after."""
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (an embedded interpreter): leave it be
        yield
        return
    read_fd, write_fd = os.pipe()
    out_fd = os.dup(saved)
    threading.Thread(target=_forward, args=(read_fd, out_fd), daemon=True,
                     name="sparkvision-jvm-stderr").start()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
