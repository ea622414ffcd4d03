"""The one way the tests run the ``sparkvision`` command.

:func:`run_cli` runs it to the end and returns its exit status and what it printed. By
default it runs the installed ``sparkvision`` script in a child process, as a user runs it:
a fresh process is needed where a test checks the start-up lines of a new JVM, runs against
a Spark Connect server or a standalone cluster (a process that opened a Connect session
stays in Connect mode), or must not share this process's Spark session. With
``in_process=True`` it calls :func:`sparkvision.cli.main.main` here instead, on the test
session's Spark, which is much faster where none of that matters.

:func:`start_cli` starts the same command without waiting, for the tests that interrupt
it or feed it while it runs; :func:`bar_counts` reads the progress bar's frames back from
what a terminal received (``run_cli(..., tty=True)``).
"""

from __future__ import annotations

import contextlib
import io
import os
import pty
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: the console script installed next to this interpreter
SPARKVISION = os.path.join(os.path.dirname(sys.executable), "sparkvision")
_FRAME = re.compile(r"\]\s+(\d+)/(\d+) images")


@dataclass(frozen=True)
class CliResult:
    """What one run of the command gave."""

    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """The end of both streams, for an assertion message."""
        return (f"exit {self.rc}\n--- stdout\n{self.stdout[-3000:]}\n"
                f"--- stderr\n{self.stderr[-5000:]}")


def cli_command(args: Sequence[str]) -> list[str]:
    """The command line that runs ``sparkvision ARGS`` in a child process."""
    return [SPARKVISION, *map(str, args)]


def cli_env(env: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment for a child run: this interpreter's folder first on PATH
    (so ``sparkvision`` in a shell script is this one), Spark's Python workers on this
    interpreter, then ``env`` on top (a ``None`` value removes that variable)."""
    full = dict(os.environ)
    full["PATH"] = os.path.dirname(sys.executable) + os.pathsep + full.get("PATH", "")
    full["PYSPARK_PYTHON"] = sys.executable
    for name, value in (env or {}).items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    return full


def run_cli(args: Sequence[str], *, env: Mapping[str, str | None] | None = None,
            cwd: str | os.PathLike[str] | None = None, timeout: float = 600,
            in_process: bool = False, tty: bool = False) -> CliResult:
    """Run ``sparkvision ARGS`` to the end.

    ``env`` is laid over this process's environment (``None`` values remove a variable),
    ``cwd`` is the working folder, ``timeout`` the seconds a child process may take. With
    ``in_process`` the command runs here through :func:`sparkvision.cli.main.main` (a usage
    error's exit status included; ``timeout`` is left to pytest-timeout). With ``tty`` the
    child's standard error is a terminal, so the progress bar draws, and ``stderr`` is what
    the terminal received.
    """
    if in_process:
        if tty:
            raise ValueError("tty=True needs a child process")
        return _in_process(list(map(str, args)), env=env, cwd=cwd)
    command, full_env = cli_command(args), cli_env(env)
    if not tty:
        done = subprocess.run(command, env=full_env, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout)
        return CliResult(done.returncode, done.stdout, done.stderr)
    return _on_terminal(command, full_env, cwd, timeout)


def start_cli(args: Sequence[str], *, env: Mapping[str, str | None] | None = None,
              cwd: str | os.PathLike[str] | None = None, **popen: Any) -> subprocess.Popen:
    """Start ``sparkvision ARGS`` in a child process and return it (``popen``: further
    :class:`subprocess.Popen` arguments, such as ``stdout=`` or ``start_new_session=``)."""
    return subprocess.Popen(cli_command(args), env=cli_env(env), cwd=cwd, **popen)


def bar_counts(terminal: str) -> list[int]:
    """Images done in each progress-bar frame, in order."""
    return [int(m.group(1)) for m in _FRAME.finditer(terminal)]


def _in_process(args: list[str], *, env: Mapping[str, str | None] | None,
                cwd: str | os.PathLike[str] | None) -> CliResult:
    from sparkvision.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with _environment(env), _working_folder(cwd), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse's usage errors and --help
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _environment(env: Mapping[str, str | None] | None) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in env or {}}
    try:
        for name, value in (env or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _working_folder(cwd: str | os.PathLike[str] | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    before = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


def _on_terminal(command: list[str], env: dict[str, str], cwd: str | os.PathLike[str] | None,
                 timeout: float) -> CliResult:
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
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
    return CliResult(code, stdout, received.decode("utf-8", "replace"))
