"""What every benchmark runner shares: its settings, its life cycle and its measurements.

A :class:`Runner` is one way of labelling images (a sparkvision execution mode, a peer
system, or a ceiling). The bench runs each runner in a process of its own
(:mod:`sparkvision.bench.child`) through the same life cycle:

1. ``available()``: a missing optional package makes the runner ``skipped`` with the
   command that installs it;
2. ``setup()``: start Spark, Ray or a process pool and load what can be loaded up front;
   timed and reported as ``startup_s``, never as part of a run;
3. a warm-up ``run()`` on a few images (untimed: first-call costs such as building the
   engine in each worker);
4. one timed ``run()`` per size; it must label every image and write the results (or
   aggregate all of them), and returns the number of result rows, which is checked;
5. ``teardown()``.

Peak memory is the largest sum of resident set sizes over this process and all its
descendants (the JVM, Python workers, Ray workers), sampled every 0.1 s during the run.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import threading
from dataclasses import dataclass

KINDS = ("mode", "peer", "ceiling")


@dataclass(frozen=True)
class Settings:
    """The same for every runner of one sweep."""

    cores: int
    batch_size: int = 32
    model: str = "catdog"
    engine: str = "onnx"
    work_dir: str = "."


class Runner:
    """Base class: subclasses set the class attributes and implement :meth:`run`."""

    name: str = ""
    kind: str = "mode"
    engine: str = "onnx"
    #: Python modules the runner needs, and the extra that installs them.
    requires: tuple[str, ...] = ()
    extra: str = "bench"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def available(self) -> str | None:
        """None when the runner can run, else why not and how to fix it."""
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            return (f"needs {', '.join(missing)}, not installed: "
                    f"pip install 'sparkvision[{self.extra}]'")
        return None

    def setup(self) -> None:
        """Start what the runner needs (timed separately as start-up)."""

    def run(self, paths: list[str], out: str) -> int:
        """Label every image of ``paths``, write the results under ``out``; return the
        number of result rows."""
        raise NotImplementedError

    def teardown(self) -> None:
        """Stop what :meth:`setup` started."""


def parquet_rows(out: str) -> int:
    """Rows in the Parquet files under ``out`` (read from the footers)."""
    import pyarrow.parquet as pq

    files = [f for f in glob.glob(os.path.join(out, "**", "*.parquet"), recursive=True)
             if not os.path.basename(f).startswith((".", "_"))]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


class PeakRss:
    """Samples the resident memory of this process tree in a thread; ``peak_mb`` is the
    largest sum seen between ``__enter__`` and ``__exit__``."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> float:
        import psutil

        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total / 2**20

    def _loop(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, self.sample())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> "PeakRss":
        self.peak_mb = 0.0
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_mb = max(self.peak_mb, self.sample())
