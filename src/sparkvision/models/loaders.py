"""Worker side of a user's model: spec -> live engine, through the loader of its kind.

Called by :func:`sparkvision.models.engines.build_engine`, so it runs once per Python
worker process (the per-process cache in :mod:`sparkvision.executor.cache` keeps the
engine). Each loader's ``load(path, spec)`` returns an engine whose
``__call__(batch) -> {"output": array}``; the generic heads read ``output``.

==============  ==================================  ==================================
kind            loader                              file
==============  ==================================  ==================================
``keras``       :mod:`.keras_loader`                ``.keras`` / ``.h5``
``torchscript`` :mod:`.torchscript_loader`          ``torch.jit.save`` archive
``torch``       :mod:`.torch_loader`                state dict + ``arch``, or full model
``callable``    :mod:`.torch_loader`                none: ``arch`` builds the module
``onnx``        :mod:`.onnx_loader`                 ``.onnx``
==============  ==================================  ==================================
"""

from __future__ import annotations

from ..config import ModelSpec
from ..errors import ModelError


def build_user_engine(spec: ModelSpec):
    """The live engine for a user's model (``spec.kind != "builtin"``)."""
    if spec.kind == "callable":
        from . import torch_loader

        return torch_loader.load(None, spec)
    from .shipping import local_model_file

    path = local_model_file(spec)
    if spec.kind == "keras":
        from . import keras_loader

        return keras_loader.load(path, spec)
    if spec.kind == "torchscript":
        from . import torchscript_loader

        return torchscript_loader.load(path, spec)
    if spec.kind == "torch":
        from . import torch_loader

        return torch_loader.load(path, spec)
    if spec.kind == "onnx":
        from . import onnx_loader

        return onnx_loader.load(path, spec)
    raise ModelError(f"no loader for model kind {spec.kind!r}")
