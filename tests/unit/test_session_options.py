"""Session options and the pieces of Spark Connect support that need no Spark: --conf
parsing, --master/--remote conflicts, shipping choices under Connect, the start-up filter,
the per-batch progress datagrams and the worker set-up errors."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

import sparkvision.runtime.shipping as shipping
from sparkvision.cli.flags import conf_pair, spark_options
from sparkvision.cli.main import build_parser
from sparkvision.config import ModelSpec
from sparkvision.errors import ConfigError, WorkerSetupError
from sparkvision.options import RunConfig, SparkOptions
from sparkvision.runtime.progress import BatchCounter, ProgressTarget
from sparkvision.runtime.session import check_listening
from sparkvision.runtime.startup import quiet_jvm_start
from sparkvision.runtime.workers import _describe, required_modules, worker_setup_error


def test_conf_is_repeatable_key_value_on_every_spark_command() -> None:
    for command in ("classify", "embed", "train"):
        extra = ["--label-from", "folder"] if command == "train" else []
        args = build_parser().parse_args([
            command, "photos", "--out", "o", *extra, "--conf", "spark.task.cpus=2",
            "--conf", "spark.sql.parquet.compression.codec=gzip", "--remote",
            "sc://127.0.0.1:15002", "--verbose",
        ])
        settings = spark_options(args)
        assert settings.conf == (("spark.task.cpus", "2"),
                                 ("spark.sql.parquet.compression.codec", "gzip"))
        assert settings.remote == "sc://127.0.0.1:15002" and settings.verbose is True
    assert conf_pair("spark.executor.extraJavaOptions=-Da=b") == (
        "spark.executor.extraJavaOptions", "-Da=b")


def test_conf_without_equals_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["classify", "p", "--out", "o", "--conf", "spark.task.cpus"])
    assert exit_info.value.code == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_run_config_refuses_contradicting_places() -> None:
    with pytest.raises(ConfigError, match="pass one"):
        RunConfig(out="o", spark=SparkOptions(master="local[2]", remote="sc://127.0.0.1:15002"))
    with pytest.raises(ConfigError, match="without Spark"):
        RunConfig(out="o", execution="python", spark=SparkOptions(remote="sc://127.0.0.1:15002"))
    with pytest.raises(ConfigError, match="without Spark"):
        RunConfig(out="o", execution="python",
                  spark=SparkOptions(conf=(("spark.task.cpus", "2"),)))


def test_check_listening_says_when_no_server_answers() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConfigError, match=f"cannot reach a Spark Connect server at "
                       f"sc://127.0.0.1:{port}.*make connect-up"):
        check_listening(f"sc://127.0.0.1:{port}")
    assert time.monotonic() - started < 10
    with pytest.raises(ConfigError, match="expects a Spark Connect URL"):
        check_listening("spark://127.0.0.1:7077")


def test_shipping_under_connect_uses_artifacts_never_broadcast() -> None:
    assert shipping.choose_ship("auto", "/m/net.onnx", None, connect=True) == "path"
    assert shipping.choose_ship("auto", "/m/net.onnx", "remote", connect=True) == "artifact"
    assert shipping.choose_ship("artifact", "/m/net.onnx", None, connect=True) == "artifact"
    assert shipping.choose_ship("artifact", "/m/net.onnx", "local[2]") == "artifact"
    assert shipping.choose_ship("auto", "/m/net.onnx", "spark://10.0.0.5:7077") == "broadcast"
    with pytest.raises(ConfigError, match="`ship` artifact"):
        shipping.choose_ship("broadcast", "/m/net.onnx", "remote", connect=True)


def test_startup_filter_drops_jvm_chatter_and_keeps_the_rest(
    capfd: pytest.CaptureFixture[str],
) -> None:
    child = ("import sys; sys.stderr.write('WARNING: Using incubator modules: "
             "jdk.incubator.vector\\nSetting default log level to \"WARN\".\\n"
             "netlib-blas: JNI_OnLoad: dlopen(libblas.so.3) failed: libblas.so.3: cannot open "
             "shared object file: No such file or directory\\n"
             "25/01/01 10:00:00 ERROR Executor: a real error\\n'); sys.stderr.flush()")
    with quiet_jvm_start():
        proc = subprocess.Popen([sys.executable, "-c", child])
    proc.wait(timeout=60)
    err = ""
    deadline = time.monotonic() + 10
    while "a real error" not in err and time.monotonic() < deadline:
        time.sleep(0.05)
        err += capfd.readouterr().err
    assert "ERROR Executor: a real error" in err
    assert "incubator" not in err and "Setting default log level" not in err
    assert "netlib" not in err
    print("after", file=sys.stderr)  # this process's own stderr is back to normal
    assert "after" in capfd.readouterr().err


def test_workers_report_images_by_datagram_with_the_token() -> None:
    counter = BatchCounter("127.0.0.1")
    try:
        target = counter.target
        target.report(16)
        target.report(4)
        ProgressTarget(target.host, target.port, "not-the-token").report(1000)
        deadline = time.monotonic() + 5
        while counter.peek() < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        assert counter.take() == 20 and counter.take() == 0
    finally:
        counter.close()
    ProgressTarget("127.0.0.1", 9, "x").report(3)  # nobody listening: no error


def test_modules_a_worker_needs_follow_the_engine_and_execution() -> None:
    onnx = ModelSpec(name="m", engine="onnx")
    assert required_modules(onnx) == ("sparkvision", "sparkvision.executor.runner",
                                      "onnxruntime", "pyarrow")
    torch = ModelSpec(name="m", format="callable", engine="torch", arch="mynets:build")
    assert required_modules(torch, "udf") == ("sparkvision", "sparkvision.executor.runner",
                                              "torch", "mynets")


def test_worker_failures_become_one_clear_error() -> None:
    text = ("Job aborted due to stage failure: ... File \"/x/worker.py\" ...\n"
            "ModuleNotFoundError: No module named 'sparkvision'\n\tat org.apache...")
    error = worker_setup_error(RuntimeError(text))
    assert isinstance(error, WorkerSetupError)
    message = str(error)
    assert "cannot import sparkvision" in message
    for fix in ("PYSPARK_PYTHON", "spark.pyspark.python", "pip install sparkvision",
                "`py_files`"):
        assert fix in message
    missing = worker_setup_error(RuntimeError(
        'java.io.IOException: Cannot run program "/nope/python": error=2, No such file'))
    assert missing is not None and "no interpreter /nope/python" in str(missing)
    assert worker_setup_error(RuntimeError("Job aborted: disk full")) is None
    assert _describe({
        "sparkvision": "ModuleNotFoundError: No module named 'sparkvision'",
        "sparkvision.executor.runner": "ModuleNotFoundError: No module named 'sparkvision'",
        "torch": "ImportError: libcuda.so.1: cannot open shared object file",
    }) == ("sparkvision (not installed there); torch (ImportError: libcuda.so.1: cannot open "
           "shared object file)")


def test_the_workers_stage_times_travel_with_their_datagrams() -> None:
    from sparkvision.runtime.timing import CLOCK

    CLOCK.take()
    counter = BatchCounter("127.0.0.1")
    try:
        CLOCK.add("engine", 0.5)
        CLOCK.add("read", 0.25)
        counter.target.report(8)
        CLOCK.add("engine", 0.5)
        counter.target.report(0)  # a report with no images still carries its times
        CLOCK.add("decode", 9.0)
        ProgressTarget(counter.target.host, counter.target.port, "not-the-token").report(1)
        deadline = time.monotonic() + 5
        while counter.stage_seconds().get("engine", 0) < 1.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        assert counter.stage_seconds() == pytest.approx({"engine": 1.0, "read": 0.25})
        assert counter.take() == 8 and CLOCK.take() == {}
    finally:
        counter.close()


def test_the_probe_imports_each_package_and_reports_one_that_fails_to_import(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from sparkvision.runtime.workers import _PROBE_SOURCE, PROBE_IMPORTS, _problem

    # there (find_spec finds it) but broken: what a mismatched torchvision does
    (tmp_path / "halfthere.py").write_text("raise ImportError('libfoo.so: cannot open')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict = {"MODULES": ["sparkvision", "json", "halfthere", "not_there_at_all"],
                       "IMPORTED": ("sparkvision", "halfthere")}
    exec(compile(_PROBE_SOURCE, "<probe>", "exec"), namespace)
    report = json.loads(namespace["probe"](0))
    assert set(report["missing"]) == {"halfthere", "not_there_at_all"}
    assert "libfoo.so: cannot open" in report["missing"]["halfthere"]
    assert "keras" not in PROBE_IMPORTS and "onnxruntime" in PROBE_IMPORTS
    namespace["IMPORTED"] = ("sparkvision",)  # only found: what keras or a user's module gets
    assert set(json.loads(namespace["probe"](0))["missing"]) == {"not_there_at_all"}
    problem = _problem(report)
    assert problem is not None
    assert "not_there_at_all (not installed there)" in problem
    assert "halfthere (ImportError: libfoo.so: cannot open)" in problem


def test_closing_the_counter_counts_every_datagram_sent_before_and_returns_at_once() -> None:
    counter = BatchCounter("127.0.0.1")
    counter._sock.settimeout(10)  # a close that waited for the timeout would take 10 s
    for _ in range(200):
        counter.target.report(1)
    ProgressTarget(counter.target.host, counter.target.port, "not-the-token").report(5)
    started = time.monotonic()
    counter.close()
    assert time.monotonic() - started < 5
    assert counter.take() == 200
    # someone else's "stop" does not end the count
    other = BatchCounter("127.0.0.1")
    try:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"not-the-token stop", (other.target.host, other.target.port))
        other.target.report(3)
        deadline = time.monotonic() + 5
        while other.peek() < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert other.take() == 3
    finally:
        other.close()


def test_a_model_pass_session_runs_its_local_jvm_with_the_first_jit_tier_only(monkeypatch) -> None:
    import sparkvision.runtime.session as session

    asked: list[tuple] = []
    monkeypatch.setattr(session, "get_session",
                        lambda master, **kw: asked.append((master, kw)) or "spark")
    session.open_session(SparkOptions(master="local[2]"), batch_size=32, model_pass=True)
    session.open_session(SparkOptions(master="local[2]"), batch_size=32)
    assert asked[0][1]["java_options"] == ("-XX:TieredStopAtLevel=1",)
    assert asked[1][1]["java_options"] == ()
    local = session.driver_java_options("local[*,4]", session.MODEL_PASS_JAVA_OPTIONS, False)
    assert local.split()[0] == "-XX:TieredStopAtLevel=1"
    assert "-Dlog4j2.configurationFile=file:" in local
    # a cluster's tasks run in its executors' JVMs: the driver's JIT is left alone
    cluster = session.driver_java_options("spark://10.0.0.5:7077",
                                          session.MODEL_PASS_JAVA_OPTIONS, False)
    assert "TieredStopAtLevel" not in cluster and "log4j2" in cluster
    assert session.driver_java_options("local[2]", (), True) == ""
