"""ONNX models run by OpenVINO on the CPU (``--engine openvino``, extra ``openvino``).

The ONNX file (the built-in export, yours, or the int8 QDQ file made from either by
:mod:`.quantize`) is read by OpenVINO and compiled for the CPU once per worker process
(through the per-process engine cache), with:

- ``INFERENCE_NUM_THREADS`` = ``spec.threads``, one stream and no CPU pinning, like the
  other engines: Spark runs one task per core, each with its own process and threads,
  and pinning would put every process's thread on the same cores;
- ``INFERENCE_PRECISION_HINT`` from ``--precision``: ``fp32`` -> ``f32`` (exact: without
  the hint OpenVINO runs in bf16 on CPUs that have it), ``bf16`` -> ``bf16`` (refused on
  a CPU without bf16 instructions), ``int8`` -> ``f32`` for the layers the QDQ file
  leaves in float (its quantized layers run in int8 either way).

What is read from the model is what :mod:`.onnx_loader` reads (layout, size, a final
softmax/sigmoid), from the same ONNX graph.
"""

from __future__ import annotations

import socket
from typing import Any

import numpy as np

import sparkvision.models.loaders.onnx_loader as onnx_loader
from sparkvision.config import ModelSpec
from sparkvision.errors import MissingExtraError, ModelError

#: --precision -> OpenVINO inference precision hint
PRECISION_HINTS: dict[str, str] = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}


def _openvino() -> Any:
    try:
        import openvino
    except ImportError:
        raise MissingExtraError("openvino", "openvino", "`engine` openvino") from None
    return openvino


def cpu_has_bf16(core: Any) -> bool:
    """Whether OpenVINO's CPU plugin runs bf16 natively here (AVX-512 BF16 or AMX)."""
    return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def compile_config(spec: ModelSpec) -> dict[str, Any]:
    """The CPU plugin settings for ``spec`` (see module docstring)."""
    return {
        "INFERENCE_NUM_THREADS": spec.threads,
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        "ENABLE_CPU_PINNING": False,
        "INFERENCE_PRECISION_HINT": PRECISION_HINTS.get(spec.precision, "f32"),
    }


class OpenVinoEngine:
    """``__call__(batch) -> {"output": array}`` for an ONNX file compiled by OpenVINO."""

    def __init__(self, path: str, spec: ModelSpec) -> None:
        ov = _openvino()
        if spec.device == "cuda":
            raise ModelError("`engine` openvino runs on the CPU; found `device` cuda. Use "
                             "`engine` onnx for a GPU, or `device` auto")
        if spec.precision not in PRECISION_HINTS:
            raise ModelError(f"`engine` openvino runs fp32, bf16 or int8; found `precision` "
                             f"{spec.precision}")
        core = ov.Core()
        if spec.precision == "bf16" and not cpu_has_bf16(core):
            raise ModelError(
                f"`precision` bf16: the CPU of host {socket.gethostname()} has no bf16 "
                "instructions (AVX-512 BF16 or AMX) that OpenVINO uses; run `precision` "
                "fp32 or int8 there"
            )
        try:
            model = core.read_model(path)
            self.compiled = core.compile_model(model, "CPU", compile_config(spec))
        except Exception as exc:
            raise ModelError(f"OpenVINO could not load {path}: {type(exc).__name__}: "
                             f"{exc}") from exc
        if len(self.compiled.inputs) != 1:
            raise ModelError(f"{path} has {len(self.compiled.inputs)} inputs; sparkvision "
                             "feeds one image batch, so the model needs exactly one input")
        names = [next(iter(o.get_names()), str(i)) for i, o in enumerate(self.compiled.outputs)]
        self.output_name = spec.output_name or names[0]
        if self.output_name not in names:
            raise ModelError(f"{path} has no output {spec.output_name!r}; its outputs: "
                             f"{', '.join(names)}")
        self.output = self.compiled.outputs[names.index(self.output_name)]
        self.input_type = np.dtype(self.compiled.inputs[0].get_element_type().to_dtype())
        self.request = self.compiled.create_infer_request()

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        x = batch
        if self.input_type.kind in "iu":  # a uint8/int8 model: whole pixel values
            info = np.iinfo(self.input_type)
            x = np.clip(np.rint(batch), info.min, info.max)
        x = np.ascontiguousarray(x, dtype=self.input_type)
        result = self.request.infer({0: x})
        return {"output": np.array(result[self.output], dtype=np.float32)}


def inspect(engine: OpenVinoEngine, path: str, spec: ModelSpec) -> dict[str, Any]:
    """Defaults read from the ONNX graph, as for ONNX Runtime."""
    return onnx_loader.inspect(engine, path, spec)


def load(path: str, spec: ModelSpec) -> OpenVinoEngine:
    return OpenVinoEngine(path, spec)
