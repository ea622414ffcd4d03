"""The pieces of --resume that need no Spark: chunk plans, what is pending, run settings,
and cleaning what a killed run leaves (local outputs, without a JVM)."""

from __future__ import annotations

import os

import pytest

from sparkvision.errors import ConfigError
from sparkvision.jobs.resume import (
    CHUNKS_TASKS_PER_CORE,
    RUN_INFO,
    check_run_info,
    clean_incomplete,
    default_chunk_size,
    has_committed_data,
    pending,
    plan_chunks,
    run_info,
    write_run_info,
)
from sparkvision.options import RunConfig


def test_chunks_cover_every_input_once():
    for total, size in [(1, 1), (10, 3), (1024, 1024), (1025, 1024), (7, 0), (7, None)]:
        chunks = plan_chunks(total, size)
        covered = [i for lo, hi in chunks for i in range(lo, hi)]
        assert covered == list(range(total)), (total, size)
    assert default_chunk_size(16, 128) == CHUNKS_TASKS_PER_CORE * 16 * 128


def test_pending_keeps_order_and_labels():
    paths = ["a", "b", "c", "d"]
    assert pending(paths, ["x", "y", "z", "w"], {"b", "d"}) == (["a", "c"], ["x", "z"])
    assert pending(paths, None, ["a", "b", "c", "d"]) == ([], None)


def test_run_info_mismatch_is_refused(tmp_path):
    out = str(tmp_path)
    write_run_info(out, run_info("classify", "catdog", "parquet", False))
    check_run_info(out, run_info("classify", "catdog", "parquet", False))
    with pytest.raises(ConfigError, match="model: earlier 'catdog', now 'imagenet'"):
        check_run_info(out, run_info("classify", "imagenet", "parquet", False))
    with pytest.raises(ConfigError, match="label_true"):
        check_run_info(out, run_info("classify", "catdog", "parquet", True))
    assert not os.path.exists(os.path.join(out, f".{RUN_INFO}.tmp"))


def test_clean_removes_only_uncommitted_debris(tmp_path):
    out = tmp_path / "out"
    (out / "_temporary" / "0" / "_temporary" / "attempt_1").mkdir(parents=True)
    (out / "_temporary" / "0" / "_temporary" / "attempt_1" / "part-00000.parquet").write_bytes(b"")
    (out / ".spark-staging-abc").mkdir()
    (out / "part-00000-x.parquet").write_bytes(b"committed")
    (out / "_SUCCESS").write_bytes(b"")
    assert has_committed_data(None, str(out), "parquet")
    removed = clean_incomplete(None, str(out), "parquet")  # no Spark: the local file system
    assert sorted(os.path.basename(p) for p in removed) == [".spark-staging-abc", "_temporary"]
    assert sorted(os.listdir(out)) == ["_SUCCESS", "part-00000-x.parquet"]


def test_nothing_committed_means_nothing_to_skip(tmp_path):
    out = tmp_path / "out"
    assert not has_committed_data(None, str(out), "parquet")
    (out / "_temporary").mkdir(parents=True)
    assert not has_committed_data(None, str(out), "parquet")


def test_run_options_that_contradict_are_refused():
    with pytest.raises(ConfigError, match="pass only one"):
        RunConfig(out="o", resume=True, overwrite=True)
    with pytest.raises(ConfigError, match="Spark execution"):
        RunConfig(out="o", resume=True, execution="python")
    with pytest.raises(ConfigError, match="`chunk_size` must be >= 0"):
        RunConfig(out="o", chunk_size=-1)
