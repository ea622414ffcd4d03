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
descendants (the JVM, Python workers, Ray workers), sampled every 0.1 s during the run;
the CPU seconds of the same processes are summed too (see :class:`Usage`).
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


class Usage:
    """Samples this process tree in a thread while a run lasts.

    ``peak_mb``: the largest sum of resident set sizes seen; ``cpu_s``: the CPU seconds
    (user + system) the tree spent, counting each process from its first sample, and a
    process that ended during the run with its last sample. CPU seconds per image barely
    move when other programs compete for the cores; wall time does.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._cpu: dict[tuple[int, float], list[float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def cpu_s(self) -> float:
        return sum(last - first for first, last in self._cpu.values())

    def sample(self) -> None:
        import psutil

        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    times = proc.cpu_times()
                    key = (proc.pid, proc.create_time())
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += rss
            cpu = times.user + times.system
            if key in self._cpu:
                self._cpu[key][1] = cpu
            else:  # new since the run started: all of its CPU time is the run's
                first = cpu if self._thread is None else 0.0
                self._cpu[key] = [first, cpu]
        self.peak_mb = max(self.peak_mb, total / 2**20)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Usage:
        self.peak_mb = 0.0
        self._cpu = {}
        self._thread = None
        self.sample()  # the baseline: processes alive before the run count from here
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="bench-usage", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
