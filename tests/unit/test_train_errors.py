"""What `sparkvision train` cannot train on is refused with one line and exit status 2,
before any Spark session exists."""

from __future__ import annotations

import re

import pytest

from helpers.cli import run_cli
from helpers.drawing import write_patterns


def _refuse_spark(*args, **kwargs):
    raise AssertionError("a Spark session or job was started")


@pytest.mark.parametrize("case, expected", [
    ("one-class", "at least 2 classes; found 1 \\(checks\\)"),
    ("small-class", "at least 5 images .* too few: rings \\(3\\)"),
    ("no-labels", "no label could be read from 3 of 3 paths"),
    ("out-exists", "already exists; pass --overwrite"),
])
def test_untrainable_inputs_exit_2_before_spark(tmp_path, monkeypatch, case, expected):
    import sparkvision.jobs.pipeline

    # Another test may have left a shared session active: refuse any new session or job.
    import sparkvision.runtime.session

    monkeypatch.setattr(sparkvision.jobs.pipeline, "run_job", _refuse_spark)
    monkeypatch.setattr(sparkvision.runtime.session, "open_session", _refuse_spark)
    photos = tmp_path / "photos"
    args = ["--label-from", "folder"]
    if case == "one-class":
        write_patterns(str(photos), 6)
        for kind in ("stripes", "rings"):
            for path in (photos / kind).iterdir():
                path.unlink()
    elif case == "small-class":
        write_patterns(str(photos), 6)
        for path in sorted((photos / "rings").iterdir())[:3]:
            path.unlink()
    elif case == "no-labels":
        photos.mkdir()
        for i in range(3):
            (photos / f"{i}.jpg").write_bytes(b"x")
        args = ["--label-from", "filename"]
    else:
        write_patterns(str(photos), 6)
        (tmp_path / "model").mkdir()
    result = run_cli(["train", str(photos), *args, "--out", str(tmp_path / "model"), "--quiet"],
                     in_process=True)
    err = result.stderr
    assert result.rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(expected, err), err


def test_where_the_head_is_fitted_is_checked_and_reaches_the_config():
    from sparkvision.cli.main import build_parser
    from sparkvision.errors import ConfigError
    from sparkvision.train.training import TrainConfig

    with pytest.raises(ConfigError, match="`fit_on` must be one of auto, driver, spark; "
                                          "found 'gpu'"):
        TrainConfig(out="m", fit_on="gpu")
    args = build_parser().parse_args(["train", "photos", "--label-from", "folder", "--out",
                                      "m", "--fit-on", "spark"])
    assert args.fit_on == "spark"
    assert build_parser().parse_args(["train", "p", "--label-from", "folder", "--out",
                                      "m"]).fit_on == "auto"
