"""Keras models (``.keras``, legacy ``.h5``), run by Keras 3 on its torch backend.

No TensorFlow: Keras 3 runs the same saved models on torch. Files are loaded with
``safe_mode=True`` (a ``Lambda`` layer holding Python code is refused) unless the user
trusts the model (``--trust-model-code``). Needs the ``keras`` extra:
``pip install 'sparkvision[keras]'``.

What is read from the model: the input size and layout (``input_shape`` ``(None, H, W, 3)``
means NHWC, ``(None, 3, H, W)`` NCHW) and whether the last layer already applies
``sigmoid``/``softmax`` (then the head does not apply it again).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from sparkvision.config import ModelSpec
from sparkvision.errors import MissingExtraError, ModelError
from sparkvision.models.device import TORCH_DTYPES, import_torch, torch_device
from sparkvision.models.facts import image_input_facts, short_error


def import_keras():
    """Import Keras 3 on the torch backend (and say what to do when that is impossible)."""
    backend = os.environ.get("KERAS_BACKEND")
    if backend not in (None, "", "torch"):
        raise ModelError(
            f"KERAS_BACKEND is {backend!r}; sparkvision runs Keras models on the torch backend. "
            "Unset KERAS_BACKEND or set it to 'torch'"
        )
    os.environ["KERAS_BACKEND"] = "torch"
    import_torch("Running a Keras model (on the torch backend)", extra="keras")
    try:
        import keras
    except ImportError as exc:
        raise MissingExtraError("keras", "keras", "Running a Keras model") from exc
    if not hasattr(keras, "saving") or not hasattr(keras, "device"):
        raise ModelError(
            f"Keras {getattr(keras, '__version__', '?')} is installed; sparkvision needs Keras 3 "
            "(pip install 'sparkvision[keras]')"
        )
    active = keras.backend.backend()
    if active != "torch":  # keras was imported before, with another backend
        raise ModelError(
            f"Keras is already running on the {active!r} backend in this process; sparkvision "
            "runs Keras models on torch. Set KERAS_BACKEND=torch before anything imports keras"
        )
    return keras


def load_keras_model(path: str, *, trust_code: bool, device: str = "cpu") -> Any:
    keras = import_keras()
    try:
        with keras.device(device):
            return keras.saving.load_model(path, compile=False, safe_mode=not trust_code)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "arbitrary code" in str(exc):
            raise ModelError(
                f"{path} contains Python code (a Lambda layer) that Keras refuses to load in "
                "safe mode, because loading it runs that code. Load it only if you trust the "
                "file: `trust_model_code` (trust_model_code=True)"
            ) from exc
        raise ModelError(f"Keras could not load {path}: {short_error(exc)}") from exc
    except Exception as exc:
        raise ModelError(
            f"Keras could not load {path}: {type(exc).__name__}: {short_error(exc)}"
        ) from exc


def select_output(model, output_name: str | None):
    """The model itself, or a model ending at layer ``output_name`` (for embeddings)."""
    if not output_name:
        return model
    keras = import_keras()
    try:
        layer = model.get_layer(output_name)
    except ValueError:
        names = ", ".join(layer.name for layer in model.layers)
        raise ModelError(
            f"the Keras model has no layer {output_name!r}; its layers are: {names}"
        ) from None
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, layer.output)


def inspect(engine: KerasEngine, path: str, spec: ModelSpec) -> dict[str, Any]:
    """Defaults read from a loaded Keras model: image size, layout, from_logits."""
    model = engine.model
    facts: dict[str, Any] = {}
    shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if shape is None or len(shape) != 4:
        raise ModelError(
            f"expected a Keras model with one image input of shape (batch, height, width, 3); "
            f"found input shape {model.input_shape}"
        )
    facts.update(image_input_facts(
        shape, channels_first=False, what="the Keras model",
        square_hint=". Wrap the model with a resizing input layer of a square size",
    ))
    activation = _last_activation(model)
    if activation in ("sigmoid", "softmax"):
        facts["from_logits"] = False
    return facts


def _last_activation(model) -> str | None:
    layer = model.layers[-1] if getattr(model, "layers", None) else None
    if layer is None:
        return None
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    return name if name in ("sigmoid", "softmax") else None


class KerasEngine:
    """``__call__(batch) -> {"output": array}`` for a Keras model."""

    def __init__(self, path: str, spec: ModelSpec) -> None:
        self.keras = import_keras()
        torch = import_torch("Running a Keras model (on the torch backend)", extra="keras")
        torch.set_num_threads(spec.threads)
        self.torch = torch
        self.device = torch_device(spec.device)
        self.device_name = str(self.device)
        model = load_keras_model(path, trust_code=spec.trust_code, device=self.device_name)
        with self.keras.device(self.device_name):
            self.model = select_output(model, spec.output_name)
        self.autocast = spec.precision != "fp32"
        self.dtype = getattr(torch, TORCH_DTYPES[spec.precision])

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        torch = self.torch
        x = torch.from_numpy(batch).to(self.device)
        with torch.no_grad(), self.keras.device(self.device_name), torch.autocast(
            self.device.type, dtype=self.dtype, enabled=self.autocast
        ):
            out = self.model(x, training=False)
        if isinstance(out, dict):
            out = next(iter(out.values()))
        if isinstance(out, (list, tuple)):
            out = out[0]
        return {"output": out.detach().float().cpu().numpy()}


def load(path: str, spec: ModelSpec) -> KerasEngine:
    return KerasEngine(path, spec)
