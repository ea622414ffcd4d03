"""The per-process model cache.

The driver builds a :class:`~sparkvision.config.ModelSpec` and its ``model_id``; the UDF
closure carries only that small spec. Inside a Python worker, :func:`get_engine` looks the
id up in a small LRU guarded by a lock and builds the engine only on a miss, so with
Spark's default ``spark.python.worker.reuse=true`` each worker process loads the model once
and reuses it for every batch and every task it runs.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sparkvision.config import ModelSpec

_MAX_MODELS = 2
_lock = threading.Lock()
_engines: OrderedDict[str, Any] = OrderedDict()
_stats = {"builds": 0, "hits": 0}
_builds_by_model: dict[str, int] = {}


def get_engine(spec: ModelSpec, build: Callable[[ModelSpec], Any] | None = None) -> Any:
    """Return the live engine for ``spec``, building it at most once per process."""
    key = spec.model_id
    with _lock:
        engine = _engines.get(key)
        if engine is not None:
            _engines.move_to_end(key)
            _stats["hits"] += 1
            return engine
        if build is None:
            from sparkvision.models.registry import build_engine

            build = build_engine
        engine = build(spec)
        _engines[key] = engine
        _stats["builds"] += 1
        _builds_by_model[key] = _builds_by_model.get(key, 0) + 1
        while len(_engines) > _MAX_MODELS:
            _engines.popitem(last=False)
        return engine


def cache_info(model_id: str | None = None) -> dict[str, int]:
    """Builds and hits so far in this process, with its pid (used by tests and logs);
    ``model_builds`` counts the builds of ``model_id``."""
    with _lock:
        return {"pid": os.getpid(), "models": len(_engines), **_stats,
                "model_builds": _builds_by_model.get(model_id or "", 0)}


def clear_cache() -> None:
    with _lock:
        _engines.clear()
        _stats.update(builds=0, hits=0)
        _builds_by_model.clear()
