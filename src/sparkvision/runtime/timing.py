"""Where a run's time goes: the driver's phases and the workers' stages.

**Workers.** Seconds per stage, summed in each process.

The batch runner (:mod:`sparkvision.executor.runner`) and the UDFs add to :data:`CLOCK`;
each progress datagram (:class:`sparkvision.runtime.progress.ProgressTarget`) carries what
was added since the last one, and the driver sums them over every worker. The stages:

- ``load``: looking the model up, building it on a worker's first task (model load);
- ``read``: reading local files, and waiting for object-store reads fetched ahead;
- ``decode``: decoding and preprocessing;
- ``engine``: the model itself;
- ``rows``: the head and the result rows;
- ``arrow``: between two batches, outside sparkvision's code: the UDF's Arrow batches
  coming in and going out, the JVM reading and writing them.

Times are wall seconds of the worker's own thread; summed over the workers they are core
seconds, to be compared with the model pass's wall time times its cores.

**The run.** :func:`timed_run` starts a :class:`Breakdown`; the code marks its phases with
:func:`phase` (``spark_start``, ``listing``, ``prepare``: resolving and shipping the
model, ``workers``: checking that the Python workers import what it needs, then building
it and running one batch in each (:mod:`sparkvision.jobs.warmup`), ``model_pass``: the
Spark jobs that predict and write, ``summary``: counting the written table, ``sort``). A
phase inside another counts only once, in the inner one; ``other`` is the wall time no
phase covers, so the phases add up to the wall time. The model pass's ``cores x
seconds`` are split into the workers' stages and ``outside``: cores with no batch in a
Python worker (Python workers starting, tasks being scheduled, the JVM reading or writing
while no Python waits, idle cores in the last wave of tasks).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

STAGES = ("load", "read", "decode", "engine", "rows", "arrow")
PHASES = ("spark_start", "listing", "prepare", "workers", "model_pass", "summary", "sort")


class StageClock:
    """Seconds per stage since the last :meth:`take` (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._times[stage] = self._times.get(stage, 0.0) + seconds

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def take(self) -> dict[str, float]:
        """The seconds added since the last call, per stage, and start again from zero."""
        with self._lock:
            times, self._times = self._times, {}
        return times


#: this process's clock (one per Python worker; the `python` execution's own process)
CLOCK = StageClock()


def encode(times: Mapping[str, float]) -> str:
    """``stage=seconds`` words for a datagram.

    >>> encode({"engine": 0.25, "read": 0.0})
    'engine=0.250000'
    """
    return " ".join(f"{k}={v:.6f}" for k, v in times.items() if k in STAGES and v > 0)


def decode(words: list[bytes]) -> dict[str, float]:
    """The stage times of a datagram's ``stage=seconds`` words; anything else is ignored.

    >>> decode([b"engine=0.25", b"bogus", b"read=x"])
    {'engine': 0.25}
    """
    times: dict[str, float] = {}
    for word in words:
        key, _, value = word.decode(errors="replace").partition("=")
        if key in STAGES:
            try:
                times[key] = times.get(key, 0.0) + float(value)
            except ValueError:
                continue
    return times


class Breakdown:
    """The phases of one run (wall seconds) and the workers' stages (core seconds)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.phases: dict[str, float] = {}
        self.workers: dict[str, float] = {}
        self.cores = 0
        self.open: list[list[float]] = []  # per open phase: the seconds of its inner phases

    def add(self, name: str, seconds: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + seconds

    def add_workers(self, stages: Mapping[str, float], cores: int) -> None:
        for stage, seconds in stages.items():
            self.workers[stage] = self.workers.get(stage, 0.0) + seconds
        self.cores = max(self.cores, cores)

    def as_dict(self) -> dict[str, Any]:
        """``wall_s``, ``phases`` (adding up to ``wall_s`` with ``other``) and, when the
        workers reported, ``workers`` (core seconds of the model pass, with ``outside``)
        and ``cores``."""
        wall = time.monotonic() - self.started
        phases = {k: round(self.phases[k], 3) for k in PHASES if k in self.phases}
        phases["other"] = round(max(0.0, wall - sum(self.phases.values())), 3)
        out: dict[str, Any] = {"wall_s": round(wall, 3), "phases": phases}
        if self.workers and self.cores:
            workers = {k: round(self.workers[k], 3) for k in STAGES if k in self.workers}
            capacity = self.phases.get("model_pass", 0.0) * self.cores
            workers["outside"] = round(max(0.0, capacity - sum(self.workers.values())), 3)
            out["workers"] = workers
            out["cores"] = self.cores
        return out


_current: ContextVar[Breakdown | None] = ContextVar("sparkvision_breakdown", default=None)
_F = TypeVar("_F", bound=Callable[..., Any])


@contextmanager
def timed_run() -> Iterator[Breakdown]:
    """A new breakdown for the run inside the block (its phases are recorded in it)."""
    breakdown = Breakdown()
    token = _current.set(breakdown)
    try:
        yield breakdown
    finally:
        _current.reset(token)


def timed(function: _F) -> _F:
    """``function`` run inside its own :func:`timed_run` (unless one is running)."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _current.get() is not None:
            return function(*args, **kwargs)
        with timed_run():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Count the block's wall time as phase ``name`` of the current run (none: nothing),
    less the phases inside it."""
    breakdown = _current.get()
    if breakdown is None:
        yield
        return
    started = time.monotonic()
    breakdown.open.append([0.0])
    try:
        yield
    finally:
        inner = breakdown.open.pop()[0]
        elapsed = time.monotonic() - started
        breakdown.add(name, elapsed - inner)
        if breakdown.open:
            breakdown.open[-1][0] += elapsed


def add_workers(stages: Mapping[str, float], cores: int) -> None:
    """The workers' stage seconds of a model pass on ``cores`` cores, to the current run."""
    breakdown = _current.get()
    if breakdown is not None:
        breakdown.add_workers(stages, cores)


def current() -> dict[str, Any] | None:
    """The current run's breakdown so far, or None outside a run."""
    breakdown = _current.get()
    return breakdown.as_dict() if breakdown is not None else None


def render(breakdown: Mapping[str, Any]) -> str:
    """Two lines for ``--verbose``: the phases, and the model pass's cores by stage.

    >>> print(render({"wall_s": 20.0, "phases": {"spark_start": 3.0, "model_pass": 16.0,
    ...               "other": 1.0}, "workers": {"engine": 24.0, "decode": 6.0,
    ...               "outside": 2.0}, "cores": 2}))
    time: 20.0 s = spark_start 3.0 + model_pass 16.0 + other 1.0
    model pass on 2 cores (32.0 core s): engine 75%, decode 19%, outside 6%
    """
    phases = breakdown["phases"]
    lines = [f"time: {breakdown['wall_s']:.1f} s = "
             + " + ".join(f"{k} {v:.1f}" for k, v in phases.items())]
    workers = breakdown.get("workers")
    if workers:
        total = sum(workers.values()) or 1.0
        lines.append(f"model pass on {breakdown['cores']} cores ({total:.1f} core s): "
                     + ", ".join(f"{k} {v / total:.0%}" for k, v in workers.items()))
    return "\n".join(lines)
