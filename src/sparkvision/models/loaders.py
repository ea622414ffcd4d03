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


def image_input_facts(dims, *, channels_first: bool, what: str, square_hint: str = "") -> dict:
    """Layout and square image size from a 4-d image input shape ``(N, a, b, c)``.

    ``channels_first`` says which layout to try first (ONNX models are usually NCHW,
    Keras models NHWC); unknown sizes (``None``/0) leave ``image_size`` unset.
    """
    _, a, b, c = dims
    layouts = [("nchw", a, b, c), ("nhwc", c, a, b)]
    if not channels_first:
        layouts.reverse()
    for layout, channels, h, w in layouts:
        if channels == 3:
            break
    else:
        raise ModelError(
            f"{what} takes input of shape {tuple(dims)}; expected 3 colour channels "
            "((N, 3, H, W) or (N, H, W, 3))"
        )
    facts: dict = {"layout": layout}
    if h and w:
        if h != w:
            raise ModelError(f"{what} takes {h}x{w} images; sparkvision feeds square images{square_hint}")
        facts["image_size"] = int(h)
    return facts


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
