"""PyTorch models: a ``module:callable`` that returns an ``nn.Module``, or a checkpoint file.

- ``--model mypkg.nets:build``: the callable is imported and called once per worker
  process; it returns the network (with its weights: pretrained, or loaded inside).
- ``--model weights.pth --arch mypkg.nets:build``: a state dict (or a checkpoint dict
  holding one under ``state_dict`` / ``model_state_dict`` / ``model``) loaded into the
  network ``build()`` returns; every key must match (a missing or unexpected key is an
  error naming a few of them).
- ``--model full.pth --trust-model-code``: a whole pickled ``nn.Module``
  (``torch.save(model)``). Unpickling it can run code, so it needs the opt-in; every
  other file is read with ``torch.load(..., weights_only=True)``.

:class:`TorchModuleEngine` runs any module (TorchScript ones too) on the chosen device
and precision and returns ``{"output": array}``: the module's output, or for a tuple/dict
output the element ``output_name`` names (an index or a key; the first by default).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from sparkvision.config import ModelSpec
from sparkvision.errors import ModelError
from sparkvision.models.capture import load_callable
from sparkvision.models.device import import_torch, torch_device, torch_dtype

_STATE_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")


class TorchModuleEngine:
    """``__call__(batch) -> {"output": array}`` for an ``nn.Module`` or a ScriptModule."""

    def __init__(self, module, spec: ModelSpec) -> None:
        import torch

        torch.set_num_threads(spec.threads)
        self.torch = torch
        self.device = torch_device(spec.device)
        self.dtype = torch_dtype(spec.precision)
        self.output_name = spec.output_name
        module = module.eval().to(self.device)
        if spec.precision != "fp32":
            module = module.to(self.dtype)
        self.module = module
        # Image batches in channels-last order: the layout oneDNN and cuDNN convolutions
        # run fastest on (4-d inputs only).
        self.channels_last = spec.preprocess.layout == "nchw"
        if self.channels_last:
            self.module = module.to(memory_format=torch.channels_last)

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        torch = self.torch
        x = torch.from_numpy(batch).to(self.device, self.dtype)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = self.module(x)
        out = pick_output(out, self.output_name)
        return {"output": out.detach().float().cpu().numpy()}


def pick_output(out, name: str | None):
    """The tensor to read from a module's output (tensor, tuple/list or dict)."""
    if isinstance(out, dict):
        if name is None:
            return next(iter(out.values()))
        if name not in out:
            raise ModelError(
                f"the model's output has no key {name!r}; it has {', '.join(map(str, out))}"
            )
        return out[name]
    if isinstance(out, (list, tuple)):
        if name is None:
            return out[0]
        try:
            return out[int(name)]
        except (ValueError, IndexError):
            raise ModelError(
                f"the model returns {len(out)} outputs; output_name must be an index "
                f"0..{len(out) - 1}, found {name!r}"
            ) from None
    return out


def check_module(obj, what: str):
    import torch

    if not isinstance(obj, torch.nn.Module):
        raise ModelError(f"{what} returned a {type(obj).__name__}; expected a torch.nn.Module")
    return obj


def build_from_callable(arch, what: str = "the model builder"):
    """Call the ``arch`` builder and check it returned a module."""
    fn = load_callable(arch)
    try:
        module = fn()
    except Exception as exc:
        raise ModelError(f"{what} {arch} failed: {type(exc).__name__}: {exc}") from exc
    return check_module(module, f"{what} {arch}")


def load_checkpoint(path: str, spec: ModelSpec):
    """The ``nn.Module`` a checkpoint file describes (see module docstring)."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=not spec.trust_code)
    except pickle.UnpicklingError as exc:
        if spec.trust_code:
            raise ModelError(f"torch could not load {path}: {exc}") from exc
        raise ModelError(
            f"{path} is not a plain weights file: it holds pickled Python objects (such as a "
            "whole model saved with torch.save(model)), and unpickling them can run code. "
            "Save a state dict instead (torch.save(model.state_dict(), ...)) and pass "
            "`arch` module:callable, or save TorchScript (torch.jit.save), or, only if you "
            "trust the file, pass `trust_model_code`"
        ) from None
    except Exception as exc:
        raise ModelError(f"torch could not load {path}: {type(exc).__name__}: {exc}") from exc
    if isinstance(obj, torch.nn.Module):
        return obj
    if isinstance(obj, dict):  # a checkpoint dict holding the whole model (trusted load)
        module = next((obj[k] for k in _STATE_KEYS if isinstance(obj.get(k), torch.nn.Module)),
                      None)
        if module is not None:
            return module
    state = state_dict_of(obj, path)
    if spec.arch is None:
        raise ModelError(
            f"{path} holds weights only (a state dict of {len(state)} tensors), not the "
            "network: give the architecture as `arch` module:callable (arch='mypkg.nets:build'), "
            "a function that returns the untrained nn.Module"
        )
    module = build_from_callable(spec.arch, "the architecture")
    result = module.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ModelError(
            f"the weights in {path} do not fit the network built by {spec.arch}: "
            f"{len(result.missing_keys)} missing keys "
            f"(e.g. {', '.join(result.missing_keys[:3])}), "
            f"{len(result.unexpected_keys)} unexpected keys "
            f"(e.g. {', '.join(result.unexpected_keys[:3])}). Check `arch`"
        )
    return module


def state_dict_of(obj, path: str) -> dict:
    """The state dict inside a loaded checkpoint, without a DataParallel ``module.`` prefix."""
    import torch

    def is_state(d) -> bool:
        return isinstance(d, dict) and bool(d) and all(
            isinstance(v, torch.Tensor) for v in d.values()
        )

    state = obj if is_state(obj) else None
    if state is None and isinstance(obj, dict):
        state = next((obj[k] for k in _STATE_KEYS if is_state(obj.get(k))), None)
    if state is None:
        keys = ", ".join(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
        raise ModelError(
            f"expected {path} to hold a state dict (name -> tensor) or a checkpoint dict with "
            f"one under {', '.join(_STATE_KEYS)}; found {keys}"
        )
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def inspect(engine: TorchModuleEngine, path: str | None, spec: ModelSpec) -> dict[str, Any]:
    """Defaults read from a module: an ending ``Sigmoid``/``Softmax`` means probabilities."""
    module = engine.module
    children = list(module.children())
    last = children[-1] if children else None
    name = getattr(last, "original_name", None) or type(last).__name__
    if name in ("Sigmoid", "Softmax"):
        return {"from_logits": False}
    return {}


def load(path: str | None, spec: ModelSpec) -> TorchModuleEngine:
    """Engine for ``kind`` ``torch`` (a checkpoint file) or ``callable`` (no file)."""
    import_torch("Running a PyTorch model")
    module = build_from_callable(spec.arch) if path is None else load_checkpoint(path, spec)
    return TorchModuleEngine(module, spec)
