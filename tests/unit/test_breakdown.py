"""A run's time breakdown: phases that add up to the wall time, the workers' core seconds
of the model pass with what no worker accounted for."""

import time

import pytest

from sparkvision.runtime import timing as bd


def test_phases_add_up_to_the_wall_time_and_nest_in_no_run():
    with bd.phase("listing"):  # outside a run: recorded nowhere, no error
        pass
    assert bd.current() is None
    with bd.timed_run() as run:
        with bd.phase("spark_start"):
            time.sleep(0.05)
        with bd.phase("model_pass"):
            time.sleep(0.1)
        time.sleep(0.02)
        bd.add_workers({"engine": 0.12, "decode": 0.04}, cores=2)
        bd.add_workers({"engine": 0.01}, cores=2)
        result = bd.current()
    assert run.phases.keys() == {"spark_start", "model_pass"}
    assert result["phases"]["spark_start"] >= 0.05
    assert result["phases"]["other"] >= 0.015
    assert sum(result["phases"].values()) == pytest.approx(result["wall_s"], abs=0.005)
    workers = result["workers"]
    assert workers["engine"] == pytest.approx(0.13) and workers["decode"] == pytest.approx(0.04)
    # two cores for the model pass's ~0.1 s: what the stages do not cover is "outside"
    capacity = result["phases"]["model_pass"] * 2
    assert workers["outside"] == pytest.approx(capacity - 0.17, abs=0.005)
    assert result["cores"] == 2
    assert bd.current() is None  # the run is over


def test_without_worker_reports_there_is_no_worker_part():
    with bd.timed_run():
        with bd.phase("model_pass"):
            pass
        result = bd.current()
    assert "workers" not in result and "model_pass" in result["phases"]
    assert "time:" in bd.render(result) and "model pass on" not in bd.render(result)


def test_a_phase_inside_another_counts_once_and_timed_runs_do_not_nest():
    @bd.timed
    def job():
        with bd.phase("listing"):
            time.sleep(0.02)
            with bd.phase("spark_start"):  # the session opened by the listing
                time.sleep(0.05)
        inner = bd.timed(lambda: bd.current())()  # inside a run: the same run
        assert inner is not None and "listing" in inner["phases"]
        return bd.current()

    result = job()
    phases = result["phases"]
    assert phases["spark_start"] >= 0.05 and phases["listing"] >= 0.02
    # counted twice, the phases would add up to more than the wall time
    assert sum(phases.values()) == pytest.approx(result["wall_s"], abs=0.005)
    assert bd.current() is None
