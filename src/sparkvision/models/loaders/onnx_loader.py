"""ONNX models (``.onnx``), run by ONNX Runtime: users' files and the built-in network.

What is read from the model: the input's layout and size (``[N, 3, H, W]`` means NCHW,
``[N, H, W, 3]`` NHWC; symbolic sizes leave the default), its element type (the batch is
cast to it: float16 and uint8 models work as they are), and whether the chosen output
comes straight from a ``Sigmoid``/``Softmax`` node (then the head does not apply it
again). ``output_name`` picks one of several outputs (the first by default).

ONNX files hold a graph of standard operators, not code: loading one runs nothing else.
A model runs in the precision it was saved in: to run in fp16, convert the file;
``--precision int8`` runs the file :mod:`.quantize` made from it (on the CPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sparkvision.config import ModelSpec
from sparkvision.errors import ModelError
from sparkvision.models.device import onnx_providers
from sparkvision.models.facts import image_input_facts

_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
}


def session(path: str, *, threads: int, device: str) -> Any:
    """An ONNX Runtime session over a model file, with full graph optimisation and
    ``threads`` intra-op threads, no inter-op pool."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(path, options, providers=onnx_providers(device))
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"ONNX Runtime could not load {path}: {exc}") from exc


class OnnxFileEngine:
    """``__call__(batch) -> {"output": array}`` for an ONNX file."""

    def __init__(self, path: str, spec: ModelSpec) -> None:
        # int8 files run on the CPU: their fused int8 kernels are ONNX Runtime's CPU ones
        device = "cpu" if spec.precision == "int8" else spec.device
        self.session = session(path, threads=spec.threads, device=device)
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(
                f"{path} has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                "sparkvision feeds one image batch, so the model needs exactly one input"
            )
        self.input_name = inputs[0].name
        self.input_type = _ORT_TYPES.get(inputs[0].type)
        if self.input_type is None:
            raise ModelError(
                f"{path} takes {inputs[0].type} input; expected a float or uint8 tensor"
            )
        names = [o.name for o in self.session.get_outputs()]
        self.output_name = spec.output_name or names[0]
        if self.output_name not in names:
            raise ModelError(
                f"{path} has no output {spec.output_name!r}; its outputs: {', '.join(names)}"
            )

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        x = batch
        if self.input_type in (np.uint8, np.int8):
            info = np.iinfo(self.input_type)
            x = np.clip(np.rint(batch), info.min, info.max)
        x = x.astype(self.input_type, copy=False)
        (out,) = self.session.run([self.output_name], {self.input_name: x})
        return {"output": np.asarray(out, dtype=np.float32)}


def inspect(engine: Any, path: str, spec: ModelSpec) -> dict[str, Any]:
    """Defaults read from the ONNX graph (see module docstring); ``engine`` is any engine
    with the ``output_name`` it reads (ONNX Runtime's or OpenVINO's)."""
    import onnx

    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as exc:
        raise ModelError(f"could not read {path} as an ONNX model: {exc}") from exc
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    facts: dict[str, Any] = {}
    if len(inputs) == 1:
        dims = [
            d.dim_value if d.HasField("dim_value") else None
            for d in inputs[0].type.tensor_type.shape.dim
        ]
        if len(dims) == 4:
            facts.update(image_input_facts(dims, channels_first=True, what=path))
    producer = next((n for n in graph.node if engine.output_name in n.output), None)
    if producer is not None and producer.op_type in ("Sigmoid", "Softmax"):
        facts["from_logits"] = False
    return facts


def load(path: str, spec: ModelSpec) -> OnnxFileEngine:
    return OnnxFileEngine(path, spec)
