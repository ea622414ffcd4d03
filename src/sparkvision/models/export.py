"""Export the built-in network to ONNX once, into the cache directory, and reuse it.

The file name carries the weights' digest and the opset, so new weights or a new exporter
setting never reuse a stale file. Export writes to a temporary file and renames it into
place, so concurrent exporters (two Python workers on a cold cache) cannot leave a torn
file behind.
"""

from __future__ import annotations

import os
import tempfile
import warnings

from ..config import cache_dir
from .builtin import NAME, weights_digest

OPSET = 17


def onnx_path() -> str:
    return os.path.join(cache_dir(), f"{NAME}-{weights_digest()}-opset{OPSET}.onnx")


def ensure_onnx() -> str:
    """The path of the exported ONNX file, exporting it on first use."""
    path = onnx_path()
    if not os.path.isfile(path):
        export_onnx(path)
    return path


def export_onnx(path: str) -> None:
    import torch

    from .efficientnet import build_torch_module

    module = build_torch_module()
    example = torch.zeros(1, 3, 224, 224)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=os.path.dirname(path))
    os.close(fd)
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated upstream but needs no extra packages
            # and produces the graph ONNX Runtime optimises best for this network.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example,),
                tmp,
                input_names=["input"],
                output_names=["features", "logits"],
                dynamic_axes={name: {0: "batch"} for name in ("input", "features", "logits")},
                opset_version=OPSET,
                dynamo=False,
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
