"""One settings vocabulary: typed options, one session opener, one prepare-the-model step."""

from __future__ import annotations

import ast
import pathlib

import pytest

import sparkvision as sv
from sparkvision.errors import ConfigError
from sparkvision.options import (
    ModelOptions,
    ModelRequest,
    RunConfig,
    SparkOptions,
    check_batch_size,
    parse_extensions,
)

SRC = pathlib.Path(sv.__file__).parent


def test_model_options_are_typed_and_unknown_names_are_refused():
    options = ModelOptions.from_mapping({"image_size": 200, "labels": ["cat", "dog"],
                                         "precision": "int8", "decode": None})
    assert options.image_size == 200 and options.precision == "int8"
    assert options.as_kwargs() == {"image_size": 200, "labels": ["cat", "dog"],
                                   "precision": "int8"}
    with pytest.raises(ConfigError, match=r"unknown model option\(s\) imagesize; expected "
                                          r"any of .*image_size"):
        ModelOptions.from_mapping({"imagesize": 200})
    with pytest.raises(ConfigError, match="unknown `precision` 'int4'"):
        ModelOptions(precision="int4")
    with pytest.raises(ConfigError, match="unknown `decode` 'slow'"):
        ModelOptions(decode="slow")


def test_a_request_checks_its_batch_size_and_threads_and_takes_a_mapping():
    request = ModelRequest("embedding", "embed", options={"device": "cpu"})
    assert isinstance(request.options, ModelOptions) and request.options.device == "cpu"
    with pytest.raises(ConfigError, match="`batch_size` must be a whole number >= 1"):
        ModelRequest(batch_size=0)
    with pytest.raises(ConfigError, match="`threads` must be >= 1"):
        ModelRequest(threads=0)
    with pytest.raises(ConfigError, match="unknown `engine` 'tpu'"):
        ModelRequest(engine="tpu")
    assert check_batch_size(8) == 8


def test_spark_options_say_where_to_run_once():
    assert SparkOptions(conf={"a": 1}).conf == (("a", "1"),)
    assert not SparkOptions().given and SparkOptions(master="local[2]").given
    with pytest.raises(ConfigError, match=r"`master` local.*`remote` sc://h:1 both say"):
        SparkOptions(master="local[2]", remote="sc://h:1")
    with pytest.raises(ConfigError, match="`resume` keeps what `out` holds"):
        RunConfig(out="o", resume=True, overwrite=True)


def test_extensions_have_one_parser():
    assert parse_extensions(["JPG", ".PNG", "jpg"]) == (".jpg", ".png")
    assert parse_extensions("") == parse_extensions(None)


def test_python_api_errors_name_parameters_not_flags(tmp_path):
    """Caught before any Spark session starts: the arguments are checked first."""
    with pytest.raises(ConfigError) as bad_batch:
        sv.train(str(tmp_path), label_from="folder", batch_size=0)
    assert "`batch_size`" in str(bad_batch.value) and "--" not in str(bad_batch.value)
    with pytest.raises(ConfigError, match=r"unknown model option.*imagesize"):
        sv.classify(str(tmp_path), imagesize=3)
    with pytest.raises(ConfigError, match="`folds` must be >= 2"):
        sv.train(str(tmp_path), label_from="folder", folds=1)


def _calls(name: str) -> set[str]:
    """Modules (relative paths) that call ``name`` by that name."""
    found = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(
                    func, "id", None)
                if called == name:
                    found.add(str(path.relative_to(SRC)))
    return found


def test_models_are_prepared_and_sessions_opened_in_one_place_each():
    # every run resolves its model through jobs.prepare (the bench's ceiling rows,
    # which time the bare engine without Spark, and the models package itself aside)
    outside = {p for p in _calls("resolve_model") if not p.startswith("models/")}
    assert outside <= {"jobs/prepare.py", "bench/modes.py"}, outside
    users = {p for p in _calls("prepare_model")}
    for module in ("api.py", "jobs/pipeline.py", "watch/stream.py", "dedup/job.py",
                   "train/training.py"):
        assert module in users, module
    # sessions: one opener (runtime.session.open_session) over get_session
    assert _calls("get_session") == {"runtime/session.py"}, _calls("get_session")
    assert _calls("batch_session") == set()
