"""Build the built-in network's ONNX file once, into the cache directory, and reuse it.

The graph is written by :mod:`.lite0_onnx` straight from the weights file (no torch). The
file name carries the weights' digest, the opset and a digest of the builder's own source
(:mod:`.lite0_onnx` and the weights reader :mod:`.torchfile`), so new weights or a
changed builder never reuse a stale file. The file is written to a temporary name and
renamed into place, so concurrent builders (two Python workers on a cold cache) cannot
leave a torn file behind.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

import sparkvision.models.builtin.lite0_onnx as lite0_onnx
import sparkvision.models.builtin.torchfile as torchfile
from sparkvision.config import cache_dir
from sparkvision.models.builtin.catalog import NAME, weights_digest, weights_path
from sparkvision.models.builtin.lite0_onnx import OPSET
from sparkvision.storage.files import write_atomically


@lru_cache(maxsize=1)
def builder_digest() -> str:
    """sha256 prefix of the builder's source files: part of the built file's name."""
    digest = hashlib.sha256()
    for module in (lite0_onnx, torchfile):
        with open(module.__file__ or "", "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:8]


def onnx_path() -> str:
    name = f"{NAME}-{weights_digest()}-opset{OPSET}-b{builder_digest()}.onnx"
    return os.path.join(cache_dir(), name)


def ensure_onnx() -> str:
    """The path of the built ONNX file, building it on first use."""
    path = onnx_path()
    if not os.path.isfile(path):
        export_onnx(path)
    return path


def export_onnx(path: str) -> None:
    """Write the built-in network (weights from the installed weights package) to ``path``."""
    model = lite0_onnx.build_model(torchfile.load_state_dict(weights_path()))
    write_atomically(path, model.SerializeToString())
