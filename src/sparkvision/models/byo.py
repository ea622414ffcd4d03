"""Driver side of a user's model: what it is, how to feed it, how to read it, how to ship it.

:func:`resolve_byo` turns ``--model`` (a Keras/TorchScript/torch/ONNX file, a
``module:callable``, or in Python a callable or an ``nn.Module``) plus the options into
one :class:`~sparkvision.config.ModelSpec`, in this order:

1. what the model is: its kind, from the file's suffix and content (``format`` overrides);
2. the format's defaults (below), then what the model itself says (input size and
   layout, a final sigmoid/softmax), then the model card, then explicit options;
3. a probe: the model is built here, on the driver, with the same loader the workers use,
   and run on one blank image, so a wrong architecture, input size or label count fails
   now, before any job starts; the output width picks the default head (one output:
   ``sigmoid``, several: ``softmax``) and is checked against the labels;
4. shipping: ``path`` or ``broadcast`` (:mod:`sparkvision.models.shipping`).

Defaults per format (where the model does not say):

=========================  ============================================================
Keras, NHWC ONNX           ``crop = none`` (squash to the input size), ``scale = 1/255``,
                           mean 0, std 1: Keras' ``image_dataset_from_directory`` + Rescaling
torch, TorchScript,        224 px, ``resize`` 256/224 of it, ``crop = center``,
callable, NCHW ONNX        ``scale = 1/255``, ImageNet mean/std: torchvision's recipe
=========================  ============================================================
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..config import ModelSpec, Preprocess, cache_dir
from ..errors import ConfigError, ModelError
from ..sources.reader import to_local_path
from .capture import CALLABLE_PATTERN, callable_ref, check_shippable, describe, load_callable
from .card import normalize, read_card

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: format family -> preprocessing defaults
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "keras": {"image_size": 224, "crop": "none", "scale": 1 / 255, "mean": (0.0, 0.0, 0.0),
              "std": (1.0, 1.0, 1.0), "layout": "nhwc", "interpolation": "bilinear"},
    "torch": {"image_size": 224, "crop": "center", "scale": 1 / 255, "mean": IMAGENET_MEAN,
              "std": IMAGENET_STD, "layout": "nchw", "interpolation": "bilinear"},
}

_KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
_TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")


def resolve_byo(
    model: Any,
    *,
    task: str = "classify",
    threads: int = 1,
    spark=None,
    model_config: str | os.PathLike | Mapping[str, Any] | None = None,
    arch: Any = None,
    ship: str = "auto",
    device: str = "auto",
    precision: str = "fp32",
    trust_model_code: bool = False,
    py_files: tuple[str, ...] | list[str] | str | None = None,
    **options: Any,
) -> ModelSpec:
    """A :class:`ModelSpec` for a user's model (see the module docstring).

    ``options`` are model-card keys (``image_size=200, labels=("cat", "dog")``...); they
    override ``model_config`` (a card file or a dict of the same keys). ``py_files`` are
    ``.py``/``.zip`` files holding the code a ``module:callable`` needs: added to this
    process's ``sys.path`` and shipped to the workers with ``addPyFile``.

    Example::

        spec = resolve_byo("catdog.h5", labels=["cat", "dog"], image_size=200)
    """
    opts: dict[str, Any] = {}
    if model_config is not None:
        if isinstance(model_config, Mapping):
            opts.update(normalize(model_config, where="model_config"))
        else:
            opts.update(read_card(os.fspath(model_config)))
    opts.update(normalize(options, where="model options"))
    if arch is not None:
        opts["arch"] = arch if callable(arch) else normalize({"arch": arch})["arch"]

    if py_files:
        add_py_files([py_files] if isinstance(py_files, str) else list(py_files), spark)
    # User code first: a callable that cannot reach the workers is the likeliest mistake.
    arch_ref = None
    if "arch" in opts and not isinstance(opts["arch"], str):
        arch_ref = callable_ref(opts["arch"], what="the architecture")
    kind, artifact, local, trust, name = _locate(model, opts.get("format"), trust_model_code,
                                                 spark)
    arch_value: Any = None
    if kind == "callable":
        arch_value = (model if isinstance(model, str)
                      else callable_ref(model, what="the model builder"))
        if isinstance(model, str):
            load_callable(model)  # fail now if it cannot be imported
        if "arch" in opts:
            raise ConfigError("--arch goes with a weights file; --model is already a callable")
    elif "arch" in opts:
        if kind != "torch":
            raise ConfigError(
                f"--arch builds the network for a torch state-dict file; {name} is a {kind} "
                "model, which carries its own architecture: drop --arch"
            )
        arch_value = arch_ref or opts["arch"]
        if arch_ref is None:
            load_callable(arch_value)  # fail now if it cannot be imported
    if kind == "onnx" and precision != "fp32":
        raise ConfigError(
            f"--precision {precision} does not apply to ONNX models: an ONNX file runs in the "
            "precision it was saved in (convert it to float16 with onnxconverter-common to run "
            "it in half precision); use --precision fp32"
        )

    sha = None
    if local is not None:
        from ..fileutil import file_sha256

        sha = file_sha256(local)
    base = ModelSpec(
        name=name, engine="onnx" if kind == "onnx" else "torch", head="logits",
        threads=threads, artifact=local, artifact_sha256=sha, kind=kind, arch=arch_value,
        output_name=opts.get("output_name"), device="cpu", precision="fp32", trust_code=trust,
    )
    engine, facts = _probe_engine(base, local)
    nhwc_onnx = kind == "onnx" and facts.get("layout") == "nhwc"
    family = "keras" if kind == "keras" or nhwc_onnx else "torch"
    merged = {**FAMILY_DEFAULTS[family], **facts, **opts}
    preprocess = _preprocess(merged, opts)
    width = _probe_width(engine, preprocess, name)
    head = _head(task, opts.get("output"), width, name)
    labels = tuple(opts.get("labels", ()))
    if head != "embedding":
        from .heads import class_names

        try:
            class_names(head, width, labels)
        except ValueError as exc:
            raise ConfigError(f"model {name}: {exc}") from None
    elif labels:
        raise ConfigError("labels name classes; embeddings have none: drop --labels for embed")

    shipped = None
    if artifact is not None:
        shipped, artifact = _ship(spark, ship, artifact, local, sha)
    return base.with_(
        head=head, preprocess=preprocess, artifact=artifact, shipped=shipped, labels=labels,
        threshold=float(opts.get("threshold", 0.5)),
        from_logits=bool(merged.get("from_logits", True)), device=device, precision=precision,
    )


def add_py_files(files: list[str], spark=None) -> None:
    """Make each ``.py``/``.zip`` importable here and, through ``addPyFile``, on the workers."""
    for item in files:
        for path in (p.strip() for p in item.split(",")):
            if not path:
                continue
            if not os.path.isfile(path):
                raise ConfigError(f"--py-files: {path} is not a file; expected a .py or .zip file")
            entry = os.path.abspath(path)
            if path.endswith(".py"):
                entry = os.path.dirname(entry)
            if entry not in sys.path:
                sys.path.insert(0, entry)
            if spark is not None:
                spark.sparkContext.addPyFile(os.path.abspath(path))


def _locate(model: Any, fmt: str | None, trust: bool,
            spark=None) -> tuple[str, str | None, str | None, bool, str]:
    """(kind, artifact as given, driver-local file, trust_code, display name)."""
    if _is_torch_module(model):
        return ("torch", *_module_file(model), True, type(model).__name__)
    if callable(model) and not isinstance(model, (str, os.PathLike)):
        return "callable", None, None, trust, describe(model)
    if not isinstance(model, (str, os.PathLike)):
        raise ModelError(
            "expected a model name, a model file, a 'module:callable' string, a callable or "
            f"a torch.nn.Module; found {type(model).__name__}"
        )
    text = os.fspath(model)
    local = to_local_path(text)
    if CALLABLE_PATTERN.match(text) and not os.path.exists(text) and fmt is None:
        return "callable", None, None, trust, text
    if local is None:  # a URI: read once on the driver, into the cache, to inspect it
        from .shipping import read_model_bytes

        data = read_model_bytes(text, spark)
        local = _cache_copy(data, os.path.splitext(text)[1])
    elif not os.path.isfile(local):
        from .builtin import list_models

        raise ModelError(
            f"model {text!r} is not a built-in model ({', '.join(list_models())}), not an "
            "existing file, and not a 'module:callable'; check the path"
        )
    kind = fmt or _kind_of_file(local)
    if kind == "torch":
        from .torchscript_loader import is_torchscript

        if is_torchscript(local):
            kind = "torchscript"
    artifact = os.path.abspath(local) if to_local_path(text) is not None else text
    return kind, artifact, local, trust, os.path.basename(text.rstrip("/"))


def _kind_of_file(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _KERAS_SUFFIXES:
        return "keras"
    if suffix == ".onnx":
        return "onnx"
    if suffix in _TORCH_SUFFIXES:
        return "torch"
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\x89HDF"):
        return "keras"
    if head.startswith(b"PK"):
        return "torch"
    raise ModelError(
        f"cannot tell the format of {path} from its suffix {suffix or '(none)'}: expected "
        ".keras/.h5 (Keras), .pt/.pth (TorchScript or torch), or .onnx; or set format= in "
        "the model card (--model-config)"
    )


def _is_torch_module(obj: Any) -> bool:
    if "torch" not in sys.modules:
        return False
    import torch

    return isinstance(obj, torch.nn.Module)


def _module_file(module) -> tuple[str, str]:
    """Save a live ``nn.Module`` (pickled by value where its code is not installed) into
    the cache, so it ships like a file instead of inside every task's closure."""
    import torch
    from pyspark import cloudpickle

    from .capture import installed_module

    check_shippable(module, "the model")
    modules = {type(m).__module__.split(".", 1)[0] for m in module.modules()}
    registered = []
    for top in sorted(modules):
        if top in sys.modules and top != "__main__" and not installed_module(top):
            cloudpickle.register_pickle_by_value(sys.modules[top])
            registered.append(top)
    buf = io.BytesIO()
    try:
        torch.save(module, buf, pickle_module=cloudpickle)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(
            f"could not serialise the {type(module).__name__} module to send it to the "
            f"workers: {type(exc).__name__}: {exc}. Save it with torch.jit.save or as a state "
            "dict and pass the file"
        ) from exc
    finally:
        for top in registered:
            cloudpickle.unregister_pickle_by_value(sys.modules[top])
    path = _cache_copy(buf.getvalue(), ".pt")
    return path, path


def _cache_copy(data: bytes, suffix: str) -> str:
    import hashlib

    from .shipping import _write_atomically

    folder = os.path.join(cache_dir(), "models")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{hashlib.sha256(data).hexdigest()}{suffix}")
    if not os.path.isfile(path):
        _write_atomically(path, data)
    return path


def _probe_engine(spec: ModelSpec, local: str | None) -> tuple[Any, dict]:
    """Build the model here with the workers' loader; return it and what it says."""
    from .loaders import build_user_engine

    engine = build_user_engine(spec)
    if spec.kind == "keras":
        from .keras_loader import inspect

        facts = inspect(engine.model)
    elif spec.kind == "onnx":
        from .onnx_loader import inspect

        facts = inspect(local, spec.output_name)
    else:
        from .torch_loader import inspect

        facts = inspect(engine.module)
    facts.pop("activation", None)
    return engine, facts


def _preprocess(merged: dict[str, Any], explicit: dict[str, Any]) -> Preprocess:
    size = int(merged["image_size"])
    crop = merged["crop"]
    if "resize" in explicit:
        resize = int(explicit["resize"])
    elif crop == "none":
        resize = size
    else:
        resize = int(round(size * 256 / 224))
    return Preprocess(
        size=size, resize=resize, crop=crop, scale=float(merged["scale"]),
        mean=tuple(merged["mean"]), std=tuple(merged["std"]), layout=merged["layout"],
        interpolation=merged["interpolation"],
    )


def _probe_width(engine, pre: Preprocess, name: str) -> int:
    shape = (1, 3, pre.size, pre.size) if pre.layout == "nchw" else (1, pre.size, pre.size, 3)
    try:
        out = engine(np.zeros(shape, dtype=np.float32))["output"]
    except Exception as exc:  # noqa: BLE001
        raise ModelError(
            f"model {name} failed on a blank {pre.layout.upper()} image of {pre.size}x{pre.size} "
            f"(input shape {shape}): {type(exc).__name__}: {short_error(exc)}. Check --image-size "
            "and --layout "
            "(or the model card)"
        ) from exc
    out = np.asarray(out)
    if out.ndim == 0 or out.shape[0] != 1:
        raise ModelError(
            f"model {name} returned an output of shape {out.shape} for a batch of one image; "
            "expected one row per image"
        )
    return int(np.prod(out.shape[1:])) if out.ndim > 1 else 1


def _head(task: str, output: str | None, width: int, name: str) -> str:
    if task == "embed":
        if output not in (None, "embedding"):
            raise ConfigError(
                f"embed writes the model's output as a vector; --output {output} is for "
                "classify"
            )
        return "embedding"
    if output == "embedding":
        raise ConfigError(
            f"--output embedding writes vectors, not labels: use the embed command for {name}"
        )
    if output is not None:
        return output
    return "sigmoid" if width == 1 else "softmax"


def _ship(spark, ship: str, artifact: str, local: str, sha: str | None):
    """(shipped, artifact path the workers see) for ``ship``."""
    from .shipping import choose_ship, ship_bytes

    master = None
    if spark is not None:
        try:
            master = spark.sparkContext.master
        except Exception:  # noqa: BLE001 - Spark Connect: no SparkContext, ship by path
            master = None
    how = choose_ship(ship, artifact, master)
    if how == "path":
        return None, artifact
    if spark is None:
        raise ConfigError("--ship broadcast needs a Spark session to broadcast the model file")
    with open(local, "rb") as fh:
        data = fh.read()
    return ship_bytes(spark, data, sha or "", os.path.splitext(local)[1]), artifact


def short_error(exc: BaseException) -> str:
    """An exception's message without terminal colours and Keras' echo of the arguments."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    text = text.split("Arguments received by", 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines)[:600]
