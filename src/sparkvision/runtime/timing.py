"""Where a worker's time goes: seconds per stage, summed in each process.

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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

STAGES = ("load", "read", "decode", "engine", "rows", "arrow")


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
