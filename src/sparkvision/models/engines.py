"""Engines: a live network that maps a float32 batch to named output arrays.

``OnnxEngine`` (default on CPU: about 3x torch eager for this network on 2 cores) and
``TorchEngine`` both return ``{"features": (N, 1280), "logits": (N, 1000)}``.
"""

from __future__ import annotations

import os

import numpy as np

from ..config import ModelSpec
from ..errors import ModelError


class OnnxEngine:
    """``source`` is an ONNX file's path, or its bytes (as broadcast by the row UDF);
    ``device`` is ``auto``/``cpu``/``cuda`` (see :mod:`sparkvision.models.device`)."""

    def __init__(self, source: str | bytes, *, threads: int, device: str = "cpu") -> None:
        from .onnx_loader import session

        self.session = session(source, threads=threads, device=device)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.session.run(None, {self.input_name: batch})
        return dict(zip(self.output_names, outputs))


class TorchEngine:
    def __init__(self, module, *, threads: int, device: str = "cpu") -> None:
        import torch

        from .device import torch_device

        torch.set_num_threads(threads)
        self.torch = torch
        self.device = torch_device(device)
        self.module = module.eval().to(self.device, memory_format=torch.channels_last)

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        torch = self.torch
        x = torch.from_numpy(batch).to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            features, logits = self.module(x)
        return {"features": features.cpu().numpy(), "logits": logits.cpu().numpy()}


def build_engine(spec: ModelSpec, weights: bytes | None = None):
    """Turn a driver-side spec into a live engine (called on the worker, once per process).

    ``weights``, when given, is the engine file's content shipped by the driver (the ONNX
    file for ``onnx``, the state-dict file for ``torch``), used instead of reading a file.
    A user's model (``spec.kind != "builtin"``) ships its own file (see
    :mod:`sparkvision.models.shipping`) and ignores ``weights``.
    """
    if spec.kind != "builtin":
        from .loaders import build_user_engine

        return build_user_engine(spec)
    if weights is not None:
        if spec.engine == "onnx":
            return OnnxEngine(weights, threads=spec.threads, device=spec.device)
        if spec.engine == "torch":
            from .efficientnet import build_torch_module

            return TorchEngine(build_torch_module(weights), threads=spec.threads,
                               device=spec.device)
    if spec.engine == "onnx":
        path = spec.artifact
        if not _is_intact(path, spec.artifact_sha256):
            # Not prepared on the driver, or this worker cannot see the driver's cache:
            # export locally from the weights every installation ships.
            from .export import ensure_onnx

            path, _ = ensure_onnx()
        return OnnxEngine(path, threads=spec.threads, device=spec.device)
    if spec.engine == "torch":
        from .efficientnet import build_torch_module

        return TorchEngine(build_torch_module(), threads=spec.threads, device=spec.device)
    raise ModelError(f"unknown engine {spec.engine!r}")


def _is_intact(path: str | None, sha256: str | None) -> bool:
    if not path or not os.path.isfile(path):
        return False
    if sha256 is None:
        return True
    from ..fileutil import file_sha256

    return file_sha256(path) == sha256
