"""Run in a spawned process by tests/unit/test_engines.py: quantize one model after a
barrier, so several processes ask for the same int8 file at the same moment. Kept apart
from the test module so a child imports only what it needs."""

from __future__ import annotations

import hashlib
import os


def race(barrier, results, cache: str, model: str, folder: str) -> None:
    os.environ["SPARKVISION_CACHE"] = cache
    from sparkvision.models import resolve_model
    from sparkvision.models.int8.calibration import user_calibration
    from sparkvision.models.int8.quantize import quantize

    spec = resolve_model(model, labels=("a", "b", "c"))
    calibration = user_calibration(folder)
    barrier.wait()
    path, built = quantize(model, spec.artifact_sha256 or "", fmt="QOperator",
                           pre=spec.preprocess, calibration=calibration)
    with open(path, "rb") as fh:
        results.put((path, built, hashlib.sha256(fh.read()).hexdigest()))
