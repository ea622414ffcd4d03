"""Engine alone, per engine x precision x int8 operator format: images/s and CPU per image.

Usage:  .venv/bin/python scripts/measure_engines.py [PHOTOS] [--rounds 3] [--batches 4]

One process, one engine thread, batches of 32 preprocessed photos (PHOTOS, default
../shared/data/catdog-dev; any folder of images works: the engine's cost does not
depend on the pixels). The variants are taken in turn, ``--rounds`` times, so load from
other programs falls on all of them alike; each line gives the median over the rounds
of images per second (wall clock) and of CPU milliseconds per image (this process's CPU
time, which other load barely moves). The int8 files are the ones sparkvision builds and
caches (the built-in calibration set), in both operator formats for both engines, which
is how the format per engine was chosen (docs/models.md, "int8").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

DEFAULT_PHOTOS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                              "catdog-dev")


def batch_of(photos: str, size: int, pre) -> np.ndarray:
    from sparkvision.imaging import prepare_batch
    from sparkvision.sources import resolve_inputs
    from sparkvision.storage.reader import read_image_bytes

    paths = sorted(resolve_inputs([photos]))[:size]
    batch, _, _ = prepare_batch([read_image_bytes(p) for p in paths], pre)
    return np.ascontiguousarray(np.concatenate([batch] * -(-size // len(batch)))[:size])


def files() -> dict[str, str]:
    """fp32 and both int8 formats of the built-in network."""
    from sparkvision.models import resolve_model
    from sparkvision.models.int8.calibration import builtin_calibration
    from sparkvision.models.int8.quantize import quantize
    from sparkvision.storage.files import file_sha256

    spec = resolve_model("imagenet")
    calibration = builtin_calibration()
    out = {"fp32": spec.artifact, "pre": spec.preprocess}
    for fmt in ("QOperator", "QDQ"):
        out[fmt], _ = quantize(spec.artifact, file_sha256(spec.artifact), fmt=fmt,
                               pre=spec.preprocess, calibration=calibration)
    return out


def ort_engine(path: str):
    from sparkvision.models.loaders.onnx_loader import session

    sess = session(path, threads=1, device="cpu")
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(["logits"], {name: x})


def ov_engine(path: str, hint: str | None):
    import openvino as ov

    config = {"INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
              "ENABLE_CPU_PINNING": False}
    if hint:
        config["INFERENCE_PRECISION_HINT"] = hint
    compiled = ov.Core().compile_model(path, "CPU", config)
    request = compiled.create_infer_request()
    return lambda x: request.infer({0: x})


def variants(f: dict) -> dict[str, object]:
    """label -> engine callable (a variant that cannot be built is reported and left out)."""
    makers = {
        "onnxruntime fp32": lambda: ort_engine(f["fp32"]),
        "onnxruntime int8 QOperator": lambda: ort_engine(f["QOperator"]),
        "onnxruntime int8 QDQ": lambda: ort_engine(f["QDQ"]),
        "openvino fp32 (hint f32)": lambda: ov_engine(f["fp32"], "f32"),
        "openvino fp32 file, no hint (bf16 here)": lambda: ov_engine(f["fp32"], None),
        "openvino bf16 (hint bf16)": lambda: ov_engine(f["fp32"], "bf16"),
        "openvino int8 QDQ (hint f32)": lambda: ov_engine(f["QDQ"], "f32"),
        "openvino int8 QDQ, no hint": lambda: ov_engine(f["QDQ"], None),
        "openvino int8 QOperator (hint f32)": lambda: ov_engine(f["QOperator"], "f32"),
    }
    built = {}
    for label, make in makers.items():
        try:
            built[label] = make()
        except Exception as exc:  # noqa: BLE001 - reported, the others still run
            print(f"{label}: cannot run: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    return built


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("photos", nargs="?", default=DEFAULT_PHOTOS)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batches", type=int, default=4, help="timed batches per round")
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()
    if not os.path.isdir(args.photos):
        print(f"no photo folder at {args.photos}; pass one", file=sys.stderr)
        return 2
    f = files()
    x = batch_of(args.photos, args.batch_size, f["pre"])
    engines = variants(f)
    rates: dict[str, list[float]] = {k: [] for k in engines}
    cpu: dict[str, list[float]] = {k: [] for k in engines}
    for _ in range(args.rounds):
        for label, run in engines.items():
            run(x)  # warm
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.batches):
                run(x)
            n = args.batches * len(x)
            rates[label].append(n / (time.perf_counter() - w0))
            cpu[label].append((time.process_time() - c0) * 1000 / n)
    print(f"load average before the last round: {os.getloadavg()[0]:.1f}")
    print("| engine, precision | images/s (1 thread) | CPU ms per image |\n|---|---:|---:|")
    for label in engines:
        print(f"| {label} | {statistics.median(rates[label]):.0f} | "
              f"{statistics.median(cpu[label]):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
