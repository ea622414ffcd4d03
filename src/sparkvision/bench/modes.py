"""Runners for sparkvision's own execution modes and for the machine's ceilings.

The modes run exactly what ``sparkvision classify --execution MODE`` runs
(:func:`sparkvision.jobs.pipeline.predict_to_table` on Spark,
:func:`sparkvision.jobs.local.run_local`
without), writing Parquet, minus the summary that reads the output back.

The ceilings take Spark and the file system's listing out of the picture, using all
cores with one process per core (as Spark's tasks do):

- ``ceiling-engine``: the engine alone on already decoded, preprocessed tensors;
- ``ceiling-decode``: reading and decoding/preprocessing alone (the shared code);
- ``ceiling-decode+engine`` is derived from the two by the results module: their
  seconds added, the time this machine needs to do both with no overhead at all.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import TYPE_CHECKING, Any

from sparkvision.bench.base import Runner, Settings, parquet_rows
from sparkvision.config import ENGINE_CHOICES, EXECUTIONS, ModelSpec, one_of
from sparkvision.options import ModelOptions, ModelRequest, RunConfig, SparkOptions

if TYPE_CHECKING:
    from multiprocessing.pool import Pool


def _run(settings: Settings, mode: str, out: str) -> RunConfig:
    return RunConfig(out=out, execution=one_of("execution", mode, EXECUTIONS),
                     spark=SparkOptions(master=f"local[{settings.cores}]"),
                     overwrite=True, quiet=True)


def _spec(settings: Settings, mode: str, threads: int | None, spark: Any = None) -> ModelSpec:
    """The model as a run prepares it (the workers' probe left out: it is not part of
    what a mode costs per image)."""
    from sparkvision.jobs.prepare import prepare_model

    request = ModelRequest(model=settings.model,
                           engine=one_of("engine", settings.engine, ENGINE_CHOICES),
                           threads=threads, batch_size=settings.batch_size,
                           options=ModelOptions(precision=settings.precision))
    return prepare_model(request, spark, execution=mode, probe=False)


class _EngineRunner(Runner):
    """A runner of sparkvision's own code, on the sweep's engine and precision."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.engine = settings.engine
        self.precision = settings.precision


class PythonMode(_EngineRunner):
    name = "python"

    def setup(self) -> None:
        self.spec = _spec(self.settings, "python", self.settings.cores)

    def run(self, paths: list[str], out: str) -> int:
        from sparkvision.jobs.local import run_local

        run_local(self.spec, _run(self.settings, "python", out), paths, None, "parquet",
                  batch_size=self.settings.batch_size)
        return parquet_rows(out)


class SparkMode(_EngineRunner):
    """udf, pandas and iterator: one SparkSession for the whole sweep."""

    def __init__(self, settings: Settings, mode: str) -> None:
        super().__init__(settings)
        self.name = mode
        self.spark: Any = None

    def setup(self) -> None:
        from sparkvision.runtime.session import open_session

        self.spark = open_session(_run(self.settings, self.name, "unused").spark,
                                  batch_size=self.settings.batch_size, model_pass=True)
        self.spark.range(1).count()  # the JVM and the first job are start-up too
        self.spec = _spec(self.settings, self.name, None, self.spark)

    def run(self, paths: list[str], out: str) -> int:
        from sparkvision.jobs.pipeline import predict_to_table

        info = {"task": "classify", "model": self.spec.name}
        predict_to_table(self.spark, self.spec, _run(self.settings, self.name, out), paths,
                         None, "parquet", info=info, batch_size=self.settings.batch_size)
        return parquet_rows(out)

    def teardown(self) -> None:
        if self.spark is not None:
            self.spark.stop()


# ------------------------------------------------------------------------------- ceilings

_state: dict = {}


def _init_engine(model: str, engine: str, precision: str, sample: list[str],
                 batch_size: int) -> None:
    """Pool initializer: build the engine (1 thread) and one batch of decoded inputs."""
    import numpy as np

    from sparkvision.executor import get_engine
    from sparkvision.imaging import prepare_batch
    from sparkvision.models import resolve_model
    from sparkvision.storage.reader import read_image_bytes

    spec = resolve_model(model, engine=engine, precision=precision, threads=1)
    _state["engine"] = get_engine(spec)
    batch, _, _ = prepare_batch([read_image_bytes(p) for p in sample], spec.preprocess)
    repeats = -(-batch_size // len(batch))  # the sample repeated up to a full batch
    _state["inputs"] = np.ascontiguousarray(np.concatenate([batch] * repeats)[:batch_size])


def _engine_chunk(size: int) -> int:
    """One engine call on ``size`` decoded images (the engine's cost does not depend on
    the pixels, so the same sample serves every call)."""
    _state["engine"](_state["inputs"][:size])
    return size


def _init_decode(model: str) -> None:
    from sparkvision.models import resolve_model

    _state["preprocess"] = resolve_model(model).preprocess


def _decode_chunk(paths: list[str]) -> int:
    from sparkvision.imaging import prepare_batch
    from sparkvision.storage.reader import read_image_bytes

    _, ok, failed = prepare_batch([read_image_bytes(p) for p in paths], _state["preprocess"])
    return len(ok) + len(failed)


class _PoolCeiling(_EngineRunner):
    kind = "ceiling"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.pool: Pool | None = None

    def teardown(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


class EngineCeiling(_PoolCeiling):
    name = "ceiling-engine"

    def setup(self) -> None:
        from sparkvision.models import resolve_model

        # built here (and quantized, for int8) so that the pool's processes find it cached
        resolve_model(self.settings.model, engine=self.engine, precision=self.precision)
        self._sample: list[str] | None = None

    def run(self, paths: list[str], out: str) -> int:
        if self.pool is None:  # first call is the warm-up: decode a sample once
            ctx = multiprocessing.get_context("spawn")
            self.pool = ctx.Pool(
                self.settings.cores, initializer=_init_engine,
                initargs=(self.settings.model, self.engine, self.precision,
                          paths[: self.settings.batch_size], self.settings.batch_size),
            )
        cores, bs = self.settings.cores, self.settings.batch_size
        shares = [len(paths) // cores + (i < len(paths) % cores) for i in range(cores)]
        # Full batches per core's share, dealt out dynamically as Spark deals out tasks.
        chunks = [min(bs, s - j) for s in shares for j in range(0, s, bs)]
        return sum(self.pool.map(_engine_chunk, chunks, chunksize=1))


class DecodeCeiling(_PoolCeiling):
    name = "ceiling-decode"

    def setup(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pool = ctx.Pool(self.settings.cores, initializer=_init_decode,
                             initargs=(self.settings.model,))

    def run(self, paths: list[str], out: str) -> int:
        assert self.pool is not None, "setup() starts the pool"
        bs = self.settings.batch_size
        chunks = [paths[i : i + bs] for i in range(0, len(paths), bs)]
        return sum(self.pool.map(_decode_chunk, chunks, chunksize=1))


MODE_RUNNERS: tuple[str, ...] = EXECUTIONS
CEILING_RUNNERS = ("ceiling-engine", "ceiling-decode")


def make_mode_runner(name: str, settings: Settings) -> Runner:
    if name == "python":
        return PythonMode(settings)
    if name in EXECUTIONS:
        return SparkMode(settings, name)
    if name == "ceiling-engine":
        return EngineCeiling(settings)
    if name == "ceiling-decode":
        return DecodeCeiling(settings)
    raise KeyError(name)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
