"""Accuracy of every engine x precision of the built-in network, against fp32.

Usage:  .venv/bin/python scripts/accuracy_table.py [PHOTOS]

PHOTOS (default ../shared/data/catdog-dev) holds cat/ and dog/ subfolders. For each
engine and precision the built-in models run through sparkvision's own code (resolve,
the per-process engine cache, decode and preprocessing, the heads) and the script prints
one markdown row: ``catdog`` accuracy on the photos, the share of photos whose top-1
ImageNet class (``imagenet``) is the one ONNX Runtime fp32 gives, and the cosine
similarity of the 1280 ``embedding`` features to ONNX Runtime fp32 (mean and minimum).
int8 uses the built-in calibration set (never these photos). An engine whose extra is not
installed, or a precision the CPU lacks, gets a row that says so. Reads the photos in
place and writes only the engine cache ($SPARKVISION_CACHE).
"""

from __future__ import annotations

import os
import sys

import numpy as np

DEFAULT_PHOTOS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                              "catdog-dev")
#: (engine, precision) rows, the reference first
VARIANTS = (("onnx", "fp32"), ("onnx", "int8"), ("openvino", "fp32"), ("openvino", "bf16"),
            ("openvino", "int8"), ("torch", "fp32"), ("torch", "bf16"))


def photos_of(folder: str) -> tuple[list[str], list[str]]:
    paths, truth = [], []
    for label in ("cat", "dog"):
        sub = os.path.join(folder, label)
        for name in sorted(os.listdir(sub)):
            paths.append(os.path.join(sub, name))
            truth.append(label)
    return paths, truth


def run(name: str, engine: str, precision: str, paths: list[str], task: str = "classify"):
    from sparkvision.executor.runner import predict_frame
    from sparkvision.models import resolve_model

    spec = resolve_model(name, task=task, engine=engine, precision=precision, threads=2,
                         device="cpu")
    frame = predict_frame(paths, spec, batch_size=32)
    failed = frame["error"].notna().sum()
    if failed:
        raise RuntimeError(f"{failed} photos failed: {frame['error'].dropna().iloc[0]}")
    return frame


def measure(engine: str, precision: str, paths: list[str], truth: list[str]) -> dict:
    catdog = run("catdog", engine, precision, paths)["label"].tolist()
    top1 = run("imagenet", engine, precision, paths)["label"].tolist()
    vectors = np.stack(run("embedding", engine, precision, paths, "embed")["embedding"])
    return {"accuracy": float(np.mean([a == b for a, b in zip(catdog, truth, strict=True)])),
            "top1": top1, "vectors": vectors}


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main() -> int:
    folder = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PHOTOS
    if not os.path.isdir(os.path.join(folder, "cat")):
        print(f"expected cat/ and dog/ photos in {folder}; pass the folder", file=sys.stderr)
        return 2
    paths, truth = photos_of(folder)
    reference = measure("onnx", "fp32", paths, truth)
    print(f"{len(paths)} photos in {folder}\n")
    print("| engine | precision | cat/dog accuracy | ImageNet top-1 = fp32 | "
          "embedding cosine to fp32 (mean / min) |\n|---|---|---:|---:|---:|")
    for engine, precision in VARIANTS:
        try:
            got = reference if (engine, precision) == ("onnx", "fp32") else measure(
                engine, precision, paths, truth)
        except Exception as exc:  # noqa: BLE001 - a row that says why
            print(f"| {engine} | {precision} | not run: {str(exc).splitlines()[0][:120]} |||")
            continue
        agree = np.mean([a == b for a, b in zip(got["top1"], reference["top1"], strict=True)])
        cos = cosine(got["vectors"], reference["vectors"])
        print(f"| {engine} | {precision} | {got['accuracy']:.1%} | {agree:.1%} | "
              f"{cos.mean():.4f} / {cos.min():.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
