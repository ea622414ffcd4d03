"""Running the ``sparkvision`` command in a child process, optionally on a terminal.

A process that opened a Spark Connect session stays in Connect mode, and the start-up
lines of a fresh JVM are only seen by a fresh process, so the tests that check them run the
command this way. ``bar_counts`` reads the progress bar's frames back from what the
terminal received.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

SPARKVISION = os.path.join(os.path.dirname(sys.executable), "sparkvision")
_FRAME = re.compile(r"\]\s+(\d+)/(\d+) images")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
            tty: bool = False, timeout: float = 900) -> Result:
    """Run ``sparkvision ARGS``; with ``tty`` its standard error is a terminal (so the
    progress bar draws) and comes back as the terminal received it."""
    full_env = dict(os.environ, **(env or {}))
    command = [SPARKVISION, *args]
    if not tty:
        run = subprocess.run(command, env=full_env, cwd=cwd, capture_output=True, text=True,
                             timeout=timeout)
        return Result(run.returncode, run.stdout, run.stderr)
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, env=full_env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=slave)
        os.close(slave)
        received = bytearray()
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not data:
                break
            received += data
        os.close(master)
        code = proc.wait(timeout=timeout)
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    return Result(code, stdout, received.decode("utf-8", "replace"))


def bar_counts(terminal: str) -> list[int]:
    """Images done in each progress-bar frame, in order."""
    return [int(m.group(1)) for m in _FRAME.finditer(terminal)]
