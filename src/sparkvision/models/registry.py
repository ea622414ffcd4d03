"""The engine registry: one loader module per (format, engine) pair.

Every model, built-in or not, is a :class:`~sparkvision.config.ModelSpec` with a
``format`` and an ``engine``; :func:`build_engine` finds the loader for that pair and
builds the live engine on the worker, once per process (through the cache in
:mod:`sparkvision.executor.cache`). A loader module has two functions:

- ``load(path, spec) -> engine``: ``path`` is the checked local model file (``None`` for
  formats without one); the engine maps a float32 batch to ``{"output": array}``, the
  output ``spec.output_name`` names;
- ``inspect(engine, path, spec) -> dict``: defaults read from the model (``layout``,
  ``image_size``, ``from_logits``, ``labels``, preprocessing...), used on the driver.

==============  ============  ========================================  =============
format          engine        loader                                    extra
==============  ============  ========================================  =============
``onnx``        ``onnx``      :mod:`.onnx_loader`                       (core)
``onnx``        ``openvino``  :mod:`.openvino_loader`                   ``openvino``
``torch``       ``torch``     :mod:`.torch_loader`  (state dict/model)  ``torch``
``callable``    ``torch``     :mod:`.torch_loader`  (module:callable)   ``torch``
``torchscript`` ``torch``     :mod:`.torchscript_loader`                ``torch``
``keras``       ``keras``     :mod:`.keras_loader`                      ``keras``
``hf``          ``torch``     :mod:`.hf_loader`                         ``hf``
``trained``     any           :mod:`.trained_loader` (head + backbone)  (backbone's)
==============  ============  ========================================  =============

Adding an engine or a format is one loader module and one row in :data:`LOADERS`.

``--engine auto`` is the format's first engine, except where :data:`AUTO_ORDER` names a
faster one for the precision (measured, docs/models.md): an ONNX model in ``int8`` runs
on OpenVINO when it is installed, ONNX Runtime otherwise; ``bf16`` only on OpenVINO;
``fp32`` (the default, exact) stays on ONNX Runtime, which is faster than OpenVINO in
fp32 on one thread here.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from sparkvision.config import ModelSpec
from sparkvision.errors import ConfigError


class Engine(Protocol):
    """A live network: a preprocessed float32 batch in, named output arrays out."""

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]: ...


#: (format, engine) -> loader module, relative to this package
LOADERS: dict[tuple[str, str], str] = {
    ("onnx", "onnx"): "onnx_loader",
    ("onnx", "openvino"): "openvino_loader",
    ("torch", "torch"): "torch_loader",
    ("callable", "torch"): "torch_loader",
    ("torchscript", "torch"): "torchscript_loader",
    ("keras", "keras"): "keras_loader",
    ("hf", "torch"): "hf_loader",
    # a head trained by `sparkvision train`, fused with its backbone on the backbone's engine
    **{("trained", engine): "trained_loader"
       for engine in ("onnx", "torch", "keras", "openvino")},
}


#: (format, precision) -> engines ``auto`` tries, fastest first (docs/models.md)
AUTO_ORDER: dict[tuple[str, str], tuple[str, ...]] = {
    ("onnx", "int8"): ("openvino", "onnx"),
    ("onnx", "bf16"): ("openvino",),
}
#: engine -> the Python module it needs (engines not listed come with the core install)
ENGINE_MODULES: dict[str, str] = {"openvino": "openvino"}


def engines_for(fmt: str) -> tuple[str, ...]:
    """The engines a format runs on, the default first."""
    return tuple(engine for (f, engine) in LOADERS if f == fmt)


def installed(engine: str) -> bool:
    module = ENGINE_MODULES.get(engine)
    return module is None or importlib.util.find_spec(module) is not None


def pick_engine(fmt: str, engine: str, name: str, precision: str = "fp32") -> str:
    """``engine`` checked against what ``fmt`` runs on; ``auto`` is the format's default,
    or the fastest installed engine for ``precision`` (:data:`AUTO_ORDER`)."""
    choices = engines_for(fmt)
    if engine == "auto":
        order = AUTO_ORDER.get((fmt, precision), choices[:1])
        return next((e for e in order if installed(e)), order[0])
    if engine not in choices:
        raise ConfigError(
            f"model {name} is a {fmt} model, which runs on {' or '.join(choices)}; "
            f"found `engine` {engine}. Use `engine` {choices[0]} (or auto)"
        )
    return engine


def loader(spec: ModelSpec) -> ModuleType:
    try:
        module = LOADERS[(spec.format, spec.engine)]
    except KeyError:
        raise ConfigError(
            f"no loader runs {spec.format} models on {spec.engine}; "
            f"{spec.format} runs on {', '.join(engines_for(spec.format)) or 'nothing'}"
        ) from None
    return importlib.import_module(f"sparkvision.models.loaders.{module}")


def model_file(spec: ModelSpec) -> str | None:
    """The checked local path of ``spec``'s model file on this machine (``None``: no file)."""
    if spec.artifact is None and spec.shipped is None:
        return None
    from sparkvision.storage.model_files import local_model_file

    return local_model_file(spec)


def build_engine(spec: ModelSpec) -> Engine:
    """Turn a driver-side spec into a live engine (on the worker, once per process)."""
    return loader(spec).load(model_file(spec), spec)


def inspect(spec: ModelSpec, engine: Any) -> dict[str, Any]:
    """What the model says about how to feed it and read it (on the driver)."""
    return dict(loader(spec).inspect(engine, model_file(spec), spec))
