"""Every runner the bench knows, by the name used in ``--modes`` and ``--peers``."""

from __future__ import annotations

from sparkvision.bench.base import Runner, Settings
from sparkvision.bench.modes import CEILING_RUNNERS, MODE_RUNNERS, make_mode_runner

PEER_RUNNERS = ("seed", "predict_batch_udf", "ray", "daft")
ALL_RUNNERS = (*MODE_RUNNERS, *PEER_RUNNERS, *CEILING_RUNNERS)


def make_runner(name: str, settings: Settings) -> Runner:
    """A fresh runner; its optional packages are only imported when it sets up."""
    if name in MODE_RUNNERS or name in CEILING_RUNNERS:
        return make_mode_runner(name, settings)
    if name == "seed":
        from sparkvision.bench.peers.seed import SeedRunner

        return SeedRunner(settings)
    if name == "predict_batch_udf":
        from sparkvision.bench.peers.predict_batch import PredictBatchRunner

        return PredictBatchRunner(settings)
    if name == "ray":
        from sparkvision.bench.peers.ray_data import RayRunner

        return RayRunner(settings)
    if name == "daft":
        from sparkvision.bench.peers.daft_udf import DaftRunner

        return DaftRunner(settings)
    raise KeyError(f"unknown runner {name!r}; expected one of {', '.join(ALL_RUNNERS)}")
