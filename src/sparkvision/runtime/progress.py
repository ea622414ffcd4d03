"""Images done while a job runs: counted per model batch by the workers, per task by Spark.

A task holds up to ``8 x --batch-size`` images and a small job has one task per core, so
counting finished tasks leaves the bar still until the end. So the workers count images:

- :class:`BatchCounter` (driver) listens on a UDP port of this machine; the UDF carries a
  :class:`ProgressTarget` (host, port, a random token) and after every model batch the
  worker sends one datagram with the number of images it finished. Sending never blocks
  and never fails a task: a datagram that is lost, or a worker that cannot reach this
  machine (a Spark Connect server on another network), only makes the count lag.
- :class:`TaskCounter` adds Spark's own view, finished tasks of the running chunk: from
  the job group's stages on a classic session, from the server's progress reports
  (``spark.registerProgressHandler``) on Spark Connect.

:class:`ChunkProgress` takes, for the running chunk, the larger of the two estimates, capped
at its size (a retried task counts its images twice), plus every finished chunk.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from dataclasses import dataclass
from typing import Any

from sparkvision.runtime.timing import CLOCK, decode, encode

_sockets: dict[int, socket.socket] = {}


@dataclass(frozen=True)
class ProgressTarget:
    """Where a worker reports finished images (small and picklable: it rides in the UDF)."""

    host: str
    port: int
    token: str

    def report(self, images: int) -> None:
        """Send ``images`` finished to the driver, with the worker's stage times since the
        last report (:data:`sparkvision.runtime.timing.CLOCK`); best effort, never raises."""
        message = f"{self.token} {int(images)} {encode(CLOCK.take())}".rstrip()
        try:
            sock = _sockets.get(os.getpid())
            if sock is None:
                family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
                sock = _sockets[os.getpid()] = socket.socket(family, socket.SOCK_DGRAM)
                sock.setblocking(False)
            sock.sendto(message.encode(), (self.host, self.port))
        except OSError:
            pass


class BatchCounter:
    """Driver side: a UDP socket counting the images workers report (see module doc)."""

    def __init__(self, host: str) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.bind((host, 0))
        self._sock.settimeout(0.2)
        self.target = ProgressTarget(host, self._sock.getsockname()[1], secrets.token_hex(8))
        self._token = self.target.token.encode()
        self._lock = threading.Lock()
        self._count = 0
        self._times: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True,
                                        name="sparkvision-batch-counter")
        self._thread.start()

    def _receive(self) -> None:
        while True:
            try:
                data = self._sock.recv(1024)
            except (TimeoutError, BlockingIOError):
                if self._stop.is_set():
                    return
                continue
            except OSError:
                return
            token, number, *words = data.split(b" ")
            if token == self._token and number == b"stop":
                return
            if token == self._token and number.isdigit():
                times = decode(words)
                with self._lock:
                    self._count += int(number)
                    for stage, seconds in times.items():
                        self._times[stage] = self._times.get(stage, 0.0) + seconds

    def take(self) -> int:
        """Images reported since the last call."""
        with self._lock:
            count, self._count = self._count, 0
        return count

    def peek(self) -> int:
        with self._lock:
            return self._count

    def stage_seconds(self) -> dict[str, float]:
        """The workers' seconds per stage reported so far (summed over every worker)."""
        with self._lock:
            return dict(self._times)

    def close(self) -> None:
        """Stop listening once every datagram already here is counted: a ``stop`` datagram
        sent to ourselves queues behind them (the socket's timeout ends the loop if it is
        lost)."""
        self._stop.set()
        try:
            self._sock.sendto(self._token + b" stop", self._sock.getsockname())
        except OSError:
            pass
        self._thread.join(timeout=2)
        self._sock.close()


class TaskCounter:
    """Finished / all tasks of the running chunk's Spark jobs, from Spark itself."""

    def __init__(self, spark: Any, name: str) -> None:
        from sparkvision.runtime.session import is_connect

        self.spark, self.name = spark, name
        self.connect = is_connect(spark)
        self.group: str | None = None
        self._stages: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()
        if self.connect:
            spark.registerProgressHandler(self._on_progress)

    def _on_progress(self, stages: Any, inflight_tasks: int, operation_id: Any,
                     done: bool) -> None:
        with self._lock:
            for stage in stages or ():
                self._stages[stage.stage_id] = (stage.num_completed_tasks, stage.num_tasks)

    def start(self, number: int, description: str) -> None:
        with self._lock:
            self._stages.clear()
        if not self.connect:
            self.group = f"{self.name}-{number}"
            self.spark.sparkContext.setJobGroup(self.group, description, interruptOnCancel=True)

    def fraction(self) -> float:
        """Share of the tasks that finished in the running chunk's widest stage (the one
        running the model; a broadcast of the path list is a stage of one task)."""
        if self.connect:
            with self._lock:
                stages = [(total, stage_id, done)
                          for stage_id, (done, total) in self._stages.items()]
        else:
            stages = self._classic_stages()
        if not stages:
            return 0.0
        total, _, done = max(stages)
        return done / total if total else 0.0

    def _classic_stages(self) -> list[tuple[int, int, int]]:
        """``(tasks, stage id, finished tasks)`` of the job group's stages."""
        if self.group is None:
            return []
        tracker = self.spark.sparkContext.statusTracker()
        stages = []
        for job_id in tracker.getJobIdsForGroup(self.group):
            info = tracker.getJobInfo(job_id)
            for stage_id in info.stageIds if info else ():
                stage = tracker.getStageInfo(stage_id)
                if stage:
                    stages.append((stage.numTasks, stage_id, stage.numCompletedTasks))
        return stages

    def close(self) -> None:
        if self.connect:
            self.spark.removeProgressHandler(self._on_progress)
        else:
            self.group = None
            self.spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)


class ChunkProgress:
    """Images done over a job of ``total`` images written in chunks: every finished chunk
    plus, for the running one, the larger of the batch count and the task estimate."""

    def __init__(self, spark: Any, total: int, *, report_host: str | None) -> None:
        self.total = total
        self.finished = 0
        self.size = 0
        self.live = 0
        self.batches = BatchCounter(report_host) if report_host else None
        self.tasks = TaskCounter(spark, f"sparkvision-{secrets.token_hex(4)}")
        self._lock = threading.Lock()  # done() runs on the progress bar's thread

    @property
    def target(self) -> ProgressTarget | None:
        return self.batches.target if self.batches else None

    def start(self, number: int, lo: int, hi: int) -> None:
        with self._lock:
            self.size, self.live = hi - lo, 0
            if self.batches:
                self.batches.take()
        self.tasks.start(number, f"sparkvision: images {lo + 1}-{hi} of {self.total}")

    def finish(self) -> None:
        with self._lock:
            self.finished += self.size
            self.size = self.live = 0
            if self.batches:
                self.batches.take()

    def done(self) -> int:
        fraction = self.tasks.fraction()
        with self._lock:
            if self.batches:
                self.live += self.batches.take()
            estimate = max(self.live, int(self.size * fraction))
            return self.finished + min(self.size, estimate)

    def stage_seconds(self) -> dict[str, float]:
        """The workers' seconds per stage so far (empty when they cannot reach us)."""
        return self.batches.stage_seconds() if self.batches else {}

    def close(self) -> None:
        self.tasks.close()
        if self.batches:
            self.batches.close()


def report_host(spark: Any) -> str | None:
    """The address of this machine the session's workers can send datagrams to: loopback
    when the jobs run here, the driver host of a classic cluster, and under Spark Connect
    the address this machine reaches the server from. None when it cannot be told."""
    from sparkvision.runtime.session import LOOPBACK, is_connect, server_is_local

    try:
        if server_is_local(spark):
            return "127.0.0.1"
        if not is_connect(spark):
            return spark.conf.get("spark.driver.host", None) or socket.gethostbyname(
                socket.gethostname())
        host = spark.client.host.strip("[]")
        if host in LOOPBACK:
            return None  # a local server running jobs on a cluster: no route known
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((host, 9))  # no packet is sent: this only picks the route
            return str(probe.getsockname()[0])
    except OSError:
        return None
