"""``--precision int8`` for ONNX models: static post-training quantization, on the driver.

The fp32 ONNX file (the built-in export or yours) is quantized once with ONNX Runtime's
``quantize_static``: unsigned 8-bit activations whose ranges are measured (min/max) on
calibration images (:mod:`.calibration`), preprocessed exactly as the job will, and
signed 8-bit weights per output channel. The operator format suits the engine that runs
the file, as measured (docs/models.md, "int8"):

==============  ===========  ======================================================
engine          format       why
==============  ===========  ======================================================
``onnx``        QOperator    QLinearConv etc.: ONNX Runtime's fused int8 kernels;
                             the QDQ form of the same model runs much slower there
``openvino``    QDQ          QuantizeLinear/DequantizeLinear pairs, which OpenVINO
                             turns into its own int8 kernels (it reads no QOperator)
==============  ===========  ======================================================

The file lands in ``$SPARKVISION_CACHE/int8/``, named by the model's sha256, the
calibration digest and these settings, so it is built once per combination: under a
file lock (concurrent processes on one machine wait for the first) into a temporary
file renamed into place. It then becomes the spec's model file and ships to the workers
like any other (:mod:`.shipping`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from sparkvision.config import Preprocess, cache_dir
from sparkvision.errors import ConfigError, ModelError
from sparkvision.models.int8.calibration import Calibration
from sparkvision.storage.files import build_once

#: engine -> ONNX Runtime quantization format (measured, see module docstring)
OPERATOR_FORMATS: dict[str, str] = {"onnx": "QOperator", "openvino": "QDQ"}
#: images per calibration run (a fixed batch dimension of the model overrides it)
CALIBRATION_BATCH = 4
#: what else decides the quantized file; part of its cache key
SETTINGS: dict[str, Any] = {
    "activations": "QUInt8", "weights": "QInt8", "per_channel": True,
    "method": "MinMax", "reduce_range": False, "preprocessed": True, "float_tail": True,
    "version": 1,
}


def quantized_path(source_sha256: str, calibration: Calibration, fmt: str,
                   pre: Preprocess) -> str:
    """Where the int8 file for these inputs lives in the cache."""
    key = json.dumps({"model": source_sha256, "calibration": calibration.digest,
                      "format": fmt, "preprocess": repr(pre),
                      **SETTINGS}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = os.path.join(cache_dir(), "int8")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"{source_sha256[:12]}-{digest}.onnx")


def operator_format(engine: str) -> str:
    try:
        return OPERATOR_FORMATS[engine]
    except KeyError:
        raise ConfigError(
            f"`precision` int8 runs ONNX models on {' or '.join(OPERATOR_FORMATS)}; "
            f"found `engine` {engine}"
        ) from None


def quantize(source: str, source_sha256: str, *, fmt: str, pre: Preprocess,
             calibration: Calibration) -> tuple[str, bool]:
    """The int8 file for ``source`` in operator format ``fmt`` (``QOperator`` or ``QDQ``;
    built once, see module docstring) and whether this call built it."""
    if fmt not in OPERATOR_FORMATS.values():
        raise ConfigError(f"unknown int8 operator format {fmt!r}; expected QOperator or QDQ")
    path = quantized_path(source_sha256, calibration, fmt, pre)
    built = build_once(path, lambda tmp: _build(source, tmp, fmt, pre, calibration))
    return path, built


def _build(source: str, target: str, fmt: str, pre: Preprocess,
           calibration: Calibration) -> None:
    import tempfile

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    name, batch = _input(source)
    with tempfile.TemporaryDirectory(prefix="sv-int8-") as work:
        prepared = os.path.join(work, "prepared.onnx")
        quant_pre_process(source, prepared, skip_symbolic_shape=True)
        reader = _Reader(name, _batches(calibration, pre, batch))
        try:
            quantize_static(
                prepared, target, reader, nodes_to_exclude=float_tail(prepared),
                quant_format=getattr(QuantFormat, fmt),
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                per_channel=True, reduce_range=False,
                calibrate_method=CalibrationMethod.MinMax,
                extra_options={"CalibMaxIntermediateOutputs": 8,
                               "CalibTensorRangeSymmetric": False},
            )
        except (ConfigError, ModelError):
            raise
        except Exception as exc:
            raise ModelError(f"could not quantize {source} to int8: {type(exc).__name__}: "
                             f"{exc}") from exc
    if reader.images == 0:
        raise ConfigError(f"no image of {calibration.description} could be decoded for "
                          "calibration; pass `calibrate` with photos like your inputs")


#: operators passed through on the way back from an output (shape, pooling, activations)
_TAIL_OPS = {"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Transpose",
             "Softmax", "Sigmoid", "LogSoftmax", "GlobalAveragePool", "ReduceMean"}


def float_tail(path: str) -> list[str]:
    """The nodes kept in float: from each graph output back through shape, pooling and
    activation operators and constant bias/scale ``Add``/``Mul``, up to and including the
    first other node (the last ``Gemm``/``MatMul``/``Conv``). An 8-bit output would round
    close logits onto the same step (ties for the top class) and coarsen the embedding;
    the tail costs next to nothing in float."""
    import onnx

    graph = onnx.load(path, load_external_data=False).graph
    constants = {i.name for i in graph.initializer} | {
        o for n in graph.node if n.op_type == "Constant" for o in n.output}
    producer = {out: node for node in graph.node for out in node.output}
    keep: list[str] = []
    todo = [producer[o.name] for o in graph.output if o.name in producer]
    while todo:
        node = todo.pop()
        if node.name in keep:
            continue
        keep.append(node.name)
        passes = node.op_type in _TAIL_OPS or (
            node.op_type in ("Add", "Mul") and any(i in constants for i in node.input))
        if passes:
            todo += [producer[i] for i in node.input if i in producer and i not in constants]
    return keep


def _input(source: str) -> tuple[str, int | None]:
    """The model's one input name, and its batch size when fixed; refuses what cannot
    be quantized (not float32, already quantized)."""
    import onnx

    model = onnx.load(source, load_external_data=False)
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ModelError(f"{source} has {len(inputs)} inputs; expected one image input")
    tensor = inputs[0].type.tensor_type
    if tensor.elem_type != onnx.TensorProto.FLOAT:
        found = onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
        raise ConfigError(
            f"`precision` int8 quantizes float32 ONNX models; {source} takes {found} input. "
            "Run it with `precision` fp32 (it runs in the precision it was saved in)"
        )
    if any(n.op_type in ("QuantizeLinear", "QLinearConv", "ConvInteger") for n in graph.node):
        raise ConfigError(
            f"{source} is already quantized; run it as it is with `precision` fp32"
        )
    dims = tensor.shape.dim
    fixed = dims[0].dim_value if dims and dims[0].HasField("dim_value") else None
    return inputs[0].name, fixed or None


def _batches(calibration: Calibration, pre: Preprocess, fixed: int | None) -> Iterator[np.ndarray]:
    """Preprocessed calibration batches (the last one padded by repetition when the
    model's batch size is fixed); images that fail to decode are left out."""
    from sparkvision.imaging import prepare_batch

    size = fixed or CALIBRATION_BATCH
    pending: list[bytes] = []
    for data in calibration.images():
        pending.append(data)
        if len(pending) == size:
            batch, _, _ = prepare_batch(pending, pre)
            pending = []
            yield from _sized(batch, fixed)
    if pending:
        batch, _, _ = prepare_batch(pending, pre)
        yield from _sized(batch, fixed)


def _sized(batch: np.ndarray, fixed: int | None) -> Iterator[np.ndarray]:
    if len(batch) == 0:
        return
    if fixed and len(batch) != fixed:
        batch = np.concatenate([batch] * -(-fixed // len(batch)))[:fixed]
    yield np.ascontiguousarray(batch, dtype=np.float32)


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over the batches; counts images."""

    def __init__(self, name: str, batches: Iterator[np.ndarray]) -> None:
        self.name = name
        self.batches = batches
        self.images = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        if batch is None:
            return None
        self.images += len(batch)
        return {self.name: batch}

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        item = self.get_next()
        if item is None:
            raise StopIteration
        return item
