"""What a model reference is: a built-in name, a file (by suffix and content), a
``module:callable``, a callable or a live ``nn.Module``, as a :class:`Located`."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sparkvision.models.builtin.catalog as builtin
from sparkvision.errors import ModelError
from sparkvision.models.capture import (
    CALLABLE_PATTERN,
    callable_ref,
    check_shippable,
    describe,
    pickled_by_value,
)
from sparkvision.models.code_walk import installed_module
from sparkvision.storage.files import cache_bytes
from sparkvision.storage.model_files import read_model_bytes
from sparkvision.storage.reader import to_local_path

#: file suffix -> format
SUFFIX_FORMATS: dict[str, str] = {
    ".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".onnx": "onnx",
    ".pt": "torch", ".pth": "torch", ".ckpt": "torch", ".bin": "torch",
}


@dataclass(frozen=True)
class Located:
    """A model reference resolved to its format and file.

    ``artifact`` is the file as the workers will be told (a path or URI), ``local`` a copy
    the driver can read, ``arch`` what builds a torch network, ``card`` the model's own
    card (the built-in models'; users' models bring theirs as options).
    """

    format: str
    name: str
    artifact: str | None = None
    local: str | None = None
    arch: Any = None
    trust: bool = False
    card: dict[str, Any] = field(default_factory=dict)


def locate(model: Any, *, task: str, engine: str, fmt: str | None, trust: bool,
           fetch: Callable[[str], bytes] = read_model_bytes) -> Located:
    """Resolve ``model`` (see module docstring); ``fmt`` overrides the detected format;
    ``fetch`` reads a model file named by a URI."""
    if builtin.is_builtin(model):
        return _locate_builtin(model.lower(), task, engine)
    if _is_torch_module(model):
        path = cache_bytes(module_bytes(model), ".pt")
        return Located("torch", type(model).__name__, path, path, trust=True)
    if callable(model) and not isinstance(model, (str, os.PathLike)):
        ref = callable_ref(model, what="the model builder")
        return Located("callable", describe(model), arch=ref, trust=trust)
    if not isinstance(model, (str, os.PathLike)):
        raise ModelError(
            "expected a model name, a model file, a 'module:callable' string, a callable or "
            f"a torch.nn.Module; found {type(model).__name__}"
        )
    return _locate_text(os.fspath(model), task, fmt, trust, fetch)


def _locate_builtin(name: str, task: str, engine: str) -> Located:
    """A built-in model: the exported ONNX file (``onnx``, ``openvino``), or the weights
    file and the architecture they load into (``torch``), with the model's card."""
    card = builtin.card(name, task=task)
    if engine == "torch":
        path = builtin.weights_path()
        return Located("torch", name, path, path, builtin.ARCH, card=card)
    if engine not in ("auto", "onnx", "openvino"):
        raise ModelError(
            f"the built-in model {name!r} runs on onnx (default), openvino or torch; found "
            f"engine {engine!r}"
        )
    from sparkvision.models.builtin.export import ensure_onnx

    path = ensure_onnx()
    return Located("onnx", name, path, path, card=card)


def _locate_text(text: str, task: str, fmt: str | None, trust: bool,
                 fetch: Callable[[str], bytes]) -> Located:
    local = to_local_path(text)
    if CALLABLE_PATTERN.match(text) and not os.path.exists(text) and fmt is None:
        return Located("callable", text, arch=text, trust=trust)
    if local is None:  # a URI: read once on the driver, into the cache, to inspect it
        local = cache_bytes(fetch(text), os.path.splitext(text)[1])
        artifact = text
    elif os.path.isdir(local):
        from sparkvision.models.loaders.hf_loader import (
            CLASSIFY_OUTPUT,
            EMBED_OUTPUT,
            is_hf_directory,
        )

        if fmt in (None, "hf") and is_hf_directory(local):
            folder = os.path.abspath(local)
            output = CLASSIFY_OUTPUT if task == "classify" else EMBED_OUTPUT
            return Located("hf", os.path.basename(folder), folder, folder, trust=trust,
                           card={"output_name": output})
        raise ModelError(
            f"model {text!r} is a folder but not a Hugging Face model folder (expected a "
            "config.json and weights saved with save_pretrained); pass a model file instead"
        )
    elif not os.path.isfile(local):
        raise ModelError(
            f"model {text!r} is not a built-in model ({', '.join(builtin.list_models())}), not an "
            "existing file, and not a 'module:callable'; check the path"
        )
    else:
        artifact = os.path.abspath(local)
    kind = fmt or format_of_file(local)
    if kind == "torch":
        from sparkvision.models.loaders.torchscript_loader import is_torchscript

        if is_torchscript(local):
            kind = "torchscript"
    return Located(kind, os.path.basename(text.rstrip("/")), artifact, local, trust=trust)


def format_of_file(path: str) -> str:
    """A model file's format, from its suffix or, without a known one, its first bytes."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[suffix]
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\x89HDF"):
        return "keras"
    if head.startswith(b"PK"):
        return "torch"
    raise ModelError(
        f"cannot tell the format of {path} from its suffix {suffix or '(none)'}: expected "
        ".keras/.h5 (Keras), .pt/.pth (TorchScript or torch), or .onnx; or set format= in "
        "the model card (`model_config`)"
    )


def _is_torch_module(obj: Any) -> bool:
    if "torch" not in sys.modules:
        return False
    import torch

    return isinstance(obj, torch.nn.Module)


def module_bytes(module: Any) -> bytes:
    """A live ``nn.Module`` saved with ``torch.save``, its code pickled by value where it is
    not installed, so it ships like a file instead of inside every task's closure."""
    import torch

    check_shippable(module, "the model")
    tops = {type(m).__module__.split(".", 1)[0] for m in module.modules()}
    local = sorted(t for t in tops if t in sys.modules and t != "__main__"
                   and not installed_module(t))
    buf = io.BytesIO()
    try:
        with pickled_by_value(local) as cloudpickle:
            torch.save(module, buf, pickle_module=cloudpickle)
    except Exception as exc:
        raise ModelError(
            f"could not serialise the {type(module).__name__} module to send it to the "
            f"workers: {type(exc).__name__}: {exc}. Save it with torch.jit.save or as a state "
            "dict and pass the file"
        ) from exc
    return buf.getvalue()
