"""Peer systems, each written the way its own documentation recommends.

Every peer runs the same network (EfficientNet-Lite0) on the same images and machine.
All but ``seed`` run it in ONNX Runtime from the file sparkvision exports, with one
intra-op thread per parallel task, as sparkvision's modes do; ``seed`` reproduces the first
seed system (torch eager, model in the UDF closure, batches of 2, full-size decode).

Their image code is their own, not sparkvision's: decoding with PIL at full size and the
usual ``Resize(256) -> CenterCrop(224) -> normalise`` steps (:func:`torchvision_style`),
or the peer's own image functions where it has them (Daft). The answers are read with
the same cat/dog rule (:func:`labels_and_scores`).
"""

from __future__ import annotations

import numpy as np

MEAN, STD = 127.0, 128.0


def torchvision_style(img) -> np.ndarray:
    """PIL image (any size) -> (3, 224, 224) float32: shorter side to 256, centre 224."""
    from PIL import Image

    img = img.convert("RGB")
    width, height = img.size
    scale = 256 / min(width, height)
    img = img.resize((max(224, round(width * scale)), max(224, round(height * scale))),
                     Image.Resampling.BILINEAR)
    left, top = (img.width - 224) // 2, (img.height - 224) // 2
    img = img.crop((left, top, left + 224, top + 224))
    arr = (np.asarray(img, dtype=np.float32) - MEAN) / STD
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def normalise(hwc: np.ndarray) -> np.ndarray:
    """(224, 224, 3) uint8 -> (3, 224, 224) float32."""
    return np.ascontiguousarray(((hwc.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1))


def plain_session(app: str, cores: int):
    """A local SparkSession as a user of the peer would start one (Arrow on, Spark's
    defaults otherwise), with its JVM and a first job already run. Its JVM gets the options
    sparkvision's own model-pass sessions get, so a difference between the two is the
    pipeline's, not the JVM's."""
    from pyspark.sql import SparkSession

    from sparkvision.runtime.session import MODEL_PASS_JAVA_OPTIONS, driver_java_options

    master = f"local[{cores}]"
    spark = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.extraJavaOptions",
                driver_java_options(master, MODEL_PASS_JAVA_OPTIONS, verbose=True))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1).count()
    return spark


def onnx_session(threads: int = 1):
    """The exported ONNX file in ONNX Runtime, as sparkvision's engine opens it."""
    import onnxruntime as ort

    from sparkvision.models.builtin.export import ensure_onnx

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(ensure_onnx(), options, providers=["CPUExecutionProvider"])


def labels_and_scores(logits: np.ndarray) -> tuple[list[str], list[float]]:
    import sparkvision.models.builtin.imagenet as imagenet

    labels, scores = imagenet.catdog(imagenet.softmax(logits))
    return list(labels), [float(s) for s in scores]
