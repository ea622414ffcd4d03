"""Engines and precisions of ONNX models: OpenVINO, int8 (quantized on the driver, cached,
built once), the calibration sets, the auto choice, and what each refuses."""

from __future__ import annotations

import multiprocessing
import os
import sys

import numpy as np
import onnx
import pytest

import sparkvision.models.registry as registry
from helpers.cli import run_cli
from helpers.drawing import write_images
from helpers.extras import need
from helpers.race_quantize import race
from sparkvision.errors import ConfigError, MissingExtraError, ModelError
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model
from sparkvision.storage.files import file_sha256

#: every engine x precision the built-in models run in on the CPU, besides onnx fp32
VARIANTS = [("openvino", "fp32"), ("openvino", "bf16"), ("onnx", "int8"), ("openvino", "int8")]
#: agreement with ONNX Runtime fp32 on the drawn images, per precision: the least share of
#: images with the same top-1 ImageNet class, and the largest difference of its score.
#: Drawn shapes get low-confidence ImageNet answers whose first places int8 reorders, so
#: int8 is also held to: fp32's top-1 within int8's top 5, and the same catdog label, for
#: every image (on 100 real photos int8 keeps 96 % of the top-1s: docs/models.md)
TOLERANCE = {"fp32": (1.0, 1e-4), "bf16": (0.9, 0.1), "int8": (0.4, 0.3)}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    root = tmp_path_factory.mktemp("engine-images")
    return write_images(str(root), [f"img.{i}.jpg" for i in range(12)], size=(200, 160))


@pytest.fixture(scope="module")
def reference(drawn):
    return predict_frame(drawn, resolve_model("imagenet"), batch_size=8)


def _has_bf16() -> bool:
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


@pytest.mark.parametrize("engine,precision", VARIANTS)
def test_engine_and_precision_give_the_fp32_labels(drawn, reference, engine, precision):
    if engine == "openvino":
        need("openvino", "openvino")
    if precision == "int8":
        need("skimage", "int8")  # the built-in calibration photos
    spec = resolve_model("imagenet", engine=engine, precision=precision)
    assert (spec.engine, spec.precision) == (engine, precision)
    if precision == "bf16" and not _has_bf16():
        with pytest.raises(ModelError, match="no bf16 instructions"):
            predict_frame(drawn, spec, batch_size=8)
        return
    got = predict_frame(drawn, spec, batch_size=8)
    assert got["error"].isna().all()
    same = (got["label"] == reference["label"]).to_numpy()
    share, score_tol = TOLERANCE[precision]
    assert same.mean() >= share, list(zip(got["label"], reference["label"], strict=True))
    gap = np.abs(got["score"] - reference["score"]).to_numpy()[same]
    assert gap.max() <= score_tol
    if precision == "int8":
        pairs = zip(reference["label"], got["top5_labels"], strict=True)
        assert all(ref in list(top5) for ref, top5 in pairs)
        catdog = predict_frame(drawn, resolve_model("catdog", engine=engine,
                                                    precision=precision), batch_size=8)
        fp32 = predict_frame(drawn, resolve_model("catdog"), batch_size=8)
        assert catdog["label"].tolist() == fp32["label"].tolist()


def test_int8_is_a_cached_quantized_file_that_ships_like_any_model():
    need("skimage", "int8")  # the built-in calibration photos
    fp32 = resolve_model("catdog")
    int8 = resolve_model("catdog", precision="int8", engine="onnx")
    assert int8.artifact != fp32.artifact
    assert os.path.dirname(int8.artifact).endswith("int8")
    assert int8.artifact_sha256 == file_sha256(int8.artifact)
    ops = {n.op_type for n in onnx.load(int8.artifact).graph.node}
    assert "QLinearConv" in ops and "QuantizeLinear" in ops
    # the outputs stay float: the final Gemm is not quantized
    assert "Gemm" in ops
    again = resolve_model("embedding", task="embed", precision="int8", engine="onnx")
    assert again.artifact == int8.artifact  # one file for every head, built once
    qdq = resolve_model("catdog", precision="int8", engine="openvino")
    qdq_ops = {n.op_type for n in onnx.load(qdq.artifact).graph.node}
    assert "QLinearConv" not in qdq_ops and "DequantizeLinear" in qdq_ops


def test_auto_picks_openvino_for_int8_and_bf16_where_installed():
    need("openvino", "openvino")
    assert registry.pick_engine("onnx", "auto", "m", "int8") == "openvino"
    assert registry.pick_engine("onnx", "auto", "m", "bf16") == "openvino"


def test_auto_keeps_fp32_on_onnx_and_int8_without_openvino(monkeypatch):
    assert registry.pick_engine("onnx", "auto", "m") == "onnx"
    monkeypatch.setattr(registry, "installed", lambda engine: engine != "openvino")
    assert registry.pick_engine("onnx", "auto", "m", "int8") == "onnx"
    assert registry.pick_engine("torch", "auto", "m", "int8") == "torch"


@pytest.mark.parametrize("kwargs,message", [
    ({"engine": "onnx", "precision": "bf16"}, "`engine` openvino"),
    ({"engine": "openvino", "precision": "fp16"}, "fp32, bf16 or int8"),
    ({"engine": "torch", "precision": "int8"}, "quantizes ONNX models"),
    ({"engine": "onnx", "precision": "int8", "device": "cuda"}, "on the CPU"),
    ({"engine": "onnx", "precision": "fp32", "calibrate": "x"}, "goes with `precision` int8"),
])
def test_what_each_engine_refuses(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        resolve_model("catdog", **kwargs)


def test_missing_openvino_is_a_one_line_install_hint(monkeypatch, drawn, tmp_path):
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'sparkvision\[openvino\]'"):
        resolve_model("catdog", engine="openvino")
    result = run_cli(["classify", drawn[0], "--engine", "openvino", "--execution", "python",
                      "--out", str(tmp_path / "out"), "--quiet"], in_process=True)
    err = result.stderr.strip()
    assert result.rc == 2 and len(err.splitlines()) == 1
    assert "pip install 'sparkvision[openvino]'" in err


def test_missing_scikit_image_is_a_hint_and_calibrate_needs_no_extra(monkeypatch, drawn):
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'sparkvision\[int8\]'"):
        resolve_model("catdog", precision="int8", engine="onnx")


# ------------------------------------------------------------------ your own ONNX model


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory, byo_nets):
    path = str(tmp_path_factory.mktemp("small-onnx") / "small.onnx")
    return byo_nets.export_onnx(byo_nets.trained_tiny_net(), path, size=32)


def test_your_onnx_model_quantizes_with_calibrate(small_onnx, drawn, tmp_path):
    import pandas as pd

    out = str(tmp_path / "preds.parquet")
    folder = os.path.dirname(drawn[0])
    code = run_cli(["classify", folder, "--model", small_onnx, "--labels", "a,b,c",
                    "--precision", "int8", "--calibrate", folder, "--execution", "python",
                    "--out", out, "--quiet"], in_process=True).rc
    assert code == 0
    int8 = pd.read_parquet(out).sort_values("path")
    assert int8["error"].isna().all() and len(int8) == len(drawn)
    fp32 = predict_frame(sorted(drawn), resolve_model(small_onnx, labels=("a", "b", "c")),
                         batch_size=8)
    assert (int8["label"].to_numpy() == fp32["label"].to_numpy()).mean() >= 0.75
    for engine, op in (("onnx", "QLinearConv"), ("openvino", "DequantizeLinear")):
        spec = resolve_model(small_onnx, labels=("a", "b", "c"), precision="int8",
                             calibrate=folder, engine=engine)
        assert op in {n.op_type for n in onnx.load(spec.artifact).graph.node}


def test_your_model_without_calibrate_uses_the_first_inputs_said_on_screen(
        small_onnx, drawn, tmp_path):
    with pytest.raises(ConfigError, match="`calibrate` PHOTOS"):
        resolve_model(small_onnx, labels=("a", "b", "c"), precision="int8")
    result = run_cli(["classify", *drawn[:5], "--model", small_onnx, "--labels", "a,b,c",
                      "--precision", "int8", "--execution", "python",
                      "--out", str(tmp_path / "p.parquet"), "--quiet"], in_process=True)
    assert result.rc == 0, result.output
    err = result.stderr
    assert "calibrating" in err and "first 5 of the 5 inputs" in err


def test_quantized_file_is_built_once_by_racing_processes(small_onnx, drawn, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    cache = str(tmp_path / "cache")
    procs = [ctx.Process(target=race, args=(barrier, results, cache, small_onnx,
                                             os.path.dirname(drawn[0]))) for _ in range(3)]
    for p in procs:
        p.start()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(built for _, built, _ in got) == [False, False, True]
    assert len({path for path, _, _ in got}) == 1 and len({sha for _, _, sha in got}) == 1
    leftovers = [f for f in os.listdir(os.path.join(cache, "int8")) if f.startswith(".tmp-")]
    assert leftovers == []
