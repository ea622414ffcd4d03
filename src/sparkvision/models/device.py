"""Where a model runs (``--device``) and in which float type (``--precision``).

Everything here is resolved on the worker, when the engine is built, because only the
worker knows whether it has a GPU:

- ``auto`` uses a CUDA GPU when the worker has one (``torch.cuda.is_available()`` for
  torch and Keras models, the ``CUDAExecutionProvider`` for ONNX Runtime), else the CPU;
- ``cuda`` insists on a GPU and fails with a message when there is none;
- ``cpu`` never touches a GPU.

When Spark schedules GPUs (``spark.task.resource.gpu.amount``), the task's assigned GPU
address is used; otherwise GPU 0. See docs/byo-models.md, "GPUs".
"""

from __future__ import annotations

import socket
from typing import Any

from sparkvision.errors import MissingExtraError, ModelError

#: precision -> torch dtype name
TORCH_DTYPES: dict[str, str] = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def import_torch(purpose: str, extra: str = "torch") -> Any:
    """``import torch``, or a :class:`MissingExtraError` naming the extra that installs it
    (the core install has ONNX Runtime only)."""
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", extra, purpose) from exc
    return torch


def spark_gpu_index() -> int | None:
    """The GPU address Spark assigned to the running task, if it assigned one."""
    try:
        from pyspark import TaskContext
    except ImportError:  # pragma: no cover - pyspark is a dependency
        return None
    ctx = TaskContext.get()
    if ctx is None:
        return None
    try:
        gpu = ctx.resources().get("gpu")
    except Exception:  # noqa: BLE001 - resources are not available in every Spark mode
        return None
    if gpu is None or not gpu.addresses:
        return None
    try:
        return int(gpu.addresses[0])
    except ValueError:
        return None


def torch_device(device: str):
    """The ``torch.device`` for ``device`` (``auto`` / ``cpu`` / ``cuda``) on this worker."""
    torch = import_torch("Running a model on torch")

    if device == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise ModelError(
            f"`device` cuda was asked for, but torch on host {socket.gethostname()} sees no "
            f"CUDA GPU (torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}). "
            "Run on GPU workers with a CUDA build of torch, or use `device` auto to fall back "
            "to the CPU"
        )
    if not available:
        return torch.device("cpu")
    index = spark_gpu_index() or 0
    if index >= torch.cuda.device_count():
        # The cluster manager may already have narrowed CUDA_VISIBLE_DEVICES to the
        # task's GPU, which torch then numbers 0.
        index = 0
    return torch.device("cuda", index)


def torch_dtype(precision: str):
    torch = import_torch("Running a model on torch")

    return getattr(torch, TORCH_DTYPES[precision])


def onnx_providers(device: str) -> list:
    """ONNX Runtime execution providers for ``device``, best first."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    has_cuda = "CUDAExecutionProvider" in available
    if device == "cuda" and not has_cuda:
        raise ModelError(
            f"`device` cuda was asked for, but ONNX Runtime on host {socket.gethostname()} "
            f"has no CUDAExecutionProvider (it has {', '.join(available)}). Install "
            "onnxruntime-gpu on the workers, or use `device` auto to fall back to the CPU"
        )
    if device == "cpu" or not has_cuda:
        return ["CPUExecutionProvider"]
    return [("CUDAExecutionProvider", {"device_id": spark_gpu_index() or 0}),
            "CPUExecutionProvider"]
