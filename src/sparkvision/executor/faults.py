"""Fault injection, for testing that a crashed Python worker costs nothing but a retry.

Set in the environment of the process that starts Spark (the workers inherit it)::

    SPARKVISION_FAULT_EXIT_AT_BATCH=3               # the 3rd model batch of a worker process...
    SPARKVISION_FAULT_MARKER=/tmp/fault.marker      # ...exits hard, once per marker file

The first worker process whose ``N``-th model batch starts creates the marker file and
calls ``os._exit`` (no cleanup, no exception: what a segfault or an out-of-memory kill
looks like to Spark). Once the marker exists no process faults again, so Spark's retry of
the task succeeds. Delete the marker to arm it again. Unset, this costs one integer
comparison per model batch.
"""

from __future__ import annotations

import os
import tempfile

ENV_AT_BATCH = "SPARKVISION_FAULT_EXIT_AT_BATCH"
ENV_MARKER = "SPARKVISION_FAULT_MARKER"
EXIT_CODE = 86

_at_batch = int(os.environ.get(ENV_AT_BATCH) or 0)
_batches = 0


def before_batch() -> None:
    """Count this process's model batches; die at the configured one, once."""
    global _batches
    if _at_batch <= 0:
        return
    _batches += 1
    if _batches != _at_batch:
        return
    marker = os.environ.get(ENV_MARKER) or os.path.join(
        tempfile.gettempdir(), "sparkvision-fault.marker"
    )
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return  # a process already faulted: let the retry through
    os.write(fd, f"pid {os.getpid()} exited at model batch {_batches}\n".encode())
    os.close(fd)
    os._exit(EXIT_CODE)
