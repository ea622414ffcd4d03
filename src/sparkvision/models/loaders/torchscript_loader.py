"""TorchScript models: a file saved with ``torch.jit.save`` (``.pt``/``.pth``).

The file carries the network's code as TorchScript, so no architecture is needed.
Loading it does not unpickle arbitrary Python objects (TorchScript archives use their
own restricted format), but the graph it holds is a program that runs on the workers:
run models you trust. TorchScript is deprecated upstream in favour of ``torch.export``,
whose deprecation warning is silenced here because the user chose the format.
"""

from __future__ import annotations

import warnings
import zipfile

from sparkvision.config import ModelSpec
from sparkvision.errors import ModelError
from sparkvision.models.device import import_torch
from sparkvision.models.loaders.torch_loader import TorchModuleEngine
from sparkvision.models.loaders.torch_loader import inspect as inspect


def is_torchscript(path: str) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip with ``constants.pkl`` and ``code/``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)


def load_module(path: str):
    torch = import_torch("Running a TorchScript model")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(path, map_location="cpu")
    except Exception as exc:
        raise ModelError(
            f"torch.jit.load could not load {path}: {type(exc).__name__}: {exc}"
        ) from exc


def load(path: str, spec: ModelSpec) -> TorchModuleEngine:
    return TorchModuleEngine(load_module(path), spec)
