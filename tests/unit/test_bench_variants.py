"""Bench rows per engine and precision: names, jobs, derived ceilings, targets, report."""

import pytest

import sparkvision.bench.results as results
import sparkvision.bench.sweep as sweep
from sparkvision.bench.base import split_label, variant_label
from sparkvision.errors import ConfigError


def _row(mode, kind, n, seconds, cpu_s, engine="onnx", precision="fp32"):
    return {"mode": mode, "kind": kind, "n_images": n, "seconds": seconds,
            "images_per_s": round(n / seconds, 2), "peak_rss_mb": 100.0, "startup_s": 1.0,
            "engine": engine, "precision": precision, "batch_size": 32, "cores": 2,
            "cpu_s": cpu_s, "load_1m": 0.5, "status": "ok", "note": ""}


ROWS = [
    _row("iterator", "mode", 1000, 10.0, 16.0),
    _row("iterator@openvino-int8", "mode", 1000, 5.0, 9.0, "openvino", "int8"),
    _row("predict_batch_udf", "peer", 1000, 14.0, 24.0),
    _row("ceiling-engine", "ceiling", 1000, 6.0, 10.0),
    _row("ceiling-engine@openvino-int8", "ceiling", 1000, 2.0, 4.0, "openvino", "int8"),
    _row("ceiling-decode", "ceiling", 1000, 3.0, 5.0),
]


def test_labels_name_the_engine_and_precision_except_the_reference():
    assert variant_label("iterator") == "iterator"
    assert variant_label("iterator", "onnx", "int8") == "iterator@onnx-int8"
    assert split_label("ceiling-engine@openvino-bf16") == ("ceiling-engine", "openvino-bf16")
    assert split_label("seed") == ("seed", "")


def test_modes_and_engine_ceiling_run_per_variant_the_peers_once():
    variants = sweep.parse_variants("onnx,openvino", "fp32,bf16,int8")
    assert ("onnx", "bf16") not in variants and len(variants) == 5
    jobs = sweep._jobs(["iterator", "seed", "ceiling-engine", "ceiling-decode"], variants)
    assert [j for j in jobs if j[0] == "seed"] == [("seed", "onnx", "fp32")]
    assert [j for j in jobs if j[0] == "ceiling-decode"] == [("ceiling-decode", "onnx", "fp32")]
    assert len([j for j in jobs if j[0] == "iterator"]) == 5
    with pytest.raises(ConfigError, match="no engine"):
        sweep.parse_variants("onnx", "bf16")
    with pytest.raises(ConfigError, match="unknown --engines"):
        sweep.parse_variants("tensorrt", "fp32")


def test_each_variant_gets_its_own_derived_ceiling_and_targets():
    rows = results.with_derived(ROWS)
    ceilings = {r["mode"]: r for r in rows if r["status"] == "derived"}
    assert ceilings["ceiling-decode+engine"]["seconds"] == 9.0
    mine = ceilings["ceiling-decode+engine@openvino-int8"]
    assert mine["seconds"] == 5.0 and mine["cpu_s"] == 9.0 and mine["precision"] == "int8"
    targets = {t["reference"]: t for t in results.variant_target_rows(rows)}
    assert set(targets) == {"iterator", "ceiling-decode+engine@openvino-int8",
                            "predict_batch_udf"}
    assert targets["iterator"]["ratio"] == pytest.approx(2.0)
    assert targets["iterator"]["met"] is True  # 2.0 >= 1.8
    assert targets["predict_batch_udf"]["met"] is False  # 2.8 < 3
    assert targets["ceiling-decode+engine@openvino-int8"]["cpu_ratio"] == pytest.approx(1.0)
    report = results.markdown(rows)
    assert "other engines and precisions against the targets" in report
    assert "| 1000 | iterator@openvino-int8 | predict_batch_udf | 3x | 2.80 | no (-7%) |" in report
