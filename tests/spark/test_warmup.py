"""Warm workers: the model is built and has run a batch in the Python workers before the job."""

from __future__ import annotations

import tempfile
from dataclasses import replace

import pandas as pd
import pytest

from sparkvision.executor import cache_info
from sparkvision.jobs import warmup
from sparkvision.jobs.prepare import prepare_model
from sparkvision.models import resolve_model
from sparkvision.options import ModelRequest


def _builds(spark, model_id: str) -> dict[int, int]:
    """Builds of ``model_id`` per Python worker process that runs one of 16 tasks."""

    def count(batches):
        for _ in batches:
            info = cache_info(model_id)
            yield pd.DataFrame({"pid": [info["pid"]], "builds": [info["model_builds"]]})

    rows = spark.range(0, 16, numPartitions=16).mapInPandas(count, "pid long, builds long")
    return {r["pid"]: r["builds"] for r in rows.collect()}


def test_prepare_builds_the_model_in_the_workers_before_any_job(spark):
    # threads=3: a spec no other test uses, so its builds are counted from zero
    spec_id = resolve_model("catdog", threads=3).model_id
    assert sum(_builds(spark, spec_id).values()) == 0
    spec = prepare_model(ModelRequest("catdog", threads=3, batch_size=4), spark)
    assert spec.model_id == spec_id
    builds = _builds(spark, spec_id)
    assert max(builds.values()) == 1  # built by the warm-up, before any image
    # the warm-up is done once per session, model and batch size
    assert (warmup.session_key(spark), spec_id, 4, False) in warmup._warm
    assert warmup.warm_workers(spark, spec, 4) == []


def test_a_run_that_writes_warms_up_by_writing_and_leaves_no_folder(spark, monkeypatch,
                                                                   tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the warm-up writes
    assert warmup.jobs_write_here(spark)
    spec = resolve_model("catdog", threads=6)
    jobs = spark.sparkContext.statusTracker().getJobIdsForGroup()
    assert warmup.warm_workers(spark, spec, 3, write=True) == []
    assert (warmup.session_key(spark), spec.model_id, 3, True) in warmup._warm
    assert list(tmp_path.iterdir()) == []  # the table written was deleted
    new = set(spark.sparkContext.statusTracker().getJobIdsForGroup()) - set(jobs)
    assert len(new) == 1  # one job: written, then read back without Spark


@pytest.mark.parametrize("write", [False, True])
def test_a_model_the_workers_cannot_build_is_reported_not_raised(spark, tmp_path, write):
    spec = resolve_model("catdog", threads=5).with_(
        artifact=str(tmp_path / "gone.onnx"), artifact_sha256="0" * 64)
    problems = warmup.warm_workers(spark, spec, 2, write=write)
    assert problems and all("gone.onnx" in p for p in problems), problems
    assert (warmup.session_key(spark), spec.model_id, 2, write) not in warmup._warm


def test_warm_batch_runs_the_preprocessing_and_the_engine():
    spec = resolve_model("catdog", threads=1)
    before = cache_info(spec.model_id)["model_builds"]
    assert warmup.warm_batch(spec, 3) is None
    assert warmup.warm_batch(spec, 3) is None
    assert cache_info(spec.model_id)["model_builds"] - before <= 1
    # inputs the model cannot take (channels last): the engine's error, as text
    broken = spec.with_(preprocess=replace(spec.preprocess, layout="nhwc"))
    problem = warmup.warm_batch(broken, 1)
    assert problem is not None and "invalid dimensions" in problem, problem
