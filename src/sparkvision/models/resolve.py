"""Driver side of every model: what it is, how to feed it, how to read it, how to ship it.

:func:`resolve_model` turns a model reference (a built-in name, a Keras/TorchScript/torch/
ONNX file, a Hugging Face folder, a ``module:callable``, an MLflow model URI of a model
sparkvision logged (:mod:`.logged`), or in Python a callable or an ``nn.Module``) plus
options into one :class:`~sparkvision.config.ModelSpec`, the same way for all of them:

1. what the model is: its format and file (:mod:`.locate`); the built-in names are a file
   plus a card (:mod:`.builtin`);
2. the engine: ``auto`` is the format's default; one the format cannot run on is refused
   (:mod:`.registry`);
3. a probe: the model is built here, on the driver, by the loader the workers use and run
   on one blank image, so a wrong architecture, input size or label count fails now,
   before any job starts;
4. one precedence rule for every key: the format's defaults, then what the model says
   (input size and layout, a final sigmoid/softmax, a processor config), then the model's
   own card, then the user's card (``model_config``), then explicit options;
5. the head (one output: ``sigmoid``, several: ``softmax``, unless a card says) checked
   against the output width and the labels;
6. shipping: ``path``, ``broadcast`` or ``artifact`` (:mod:`.shipping`).

Defaults per format (where the model does not say):

=========================  ============================================================
Keras, NHWC ONNX           ``crop = none`` (squash to the input size), ``scale = 1/255``,
                           mean 0, std 1: Keras' ``image_dataset_from_directory`` + Rescaling
torch, TorchScript,        224 px, ``resize`` 256/224 of it, ``crop = center``,
callable, NCHW ONNX        ``scale = 1/255``, ImageNet mean/std: torchvision's recipe
=========================  ============================================================

Every model but the built-in ones decodes ``exact`` (full size, no pre-shrink) unless its
card or ``decode=`` says ``fast``; the built-in cards say ``fast``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

import sparkvision.models.registry as registry
from sparkvision.config import ENGINES, FORMATS, ModelSpec, Preprocess, one_of
from sparkvision.errors import ConfigError, ModelError
from sparkvision.models.capture import callable_ref, load_callable
from sparkvision.models.card import normalize, read_card
from sparkvision.models.clip import zero_shot_model
from sparkvision.models.facts import short_error
from sparkvision.models.heads import GENERIC_HEADS, check_head
from sparkvision.models.locate import Located, locate
from sparkvision.models.logged import card_options, fetch, is_model_uri, logged_reference
from sparkvision.models.shipper import LocalShipper, Shipper
from sparkvision.models.trained import CARD, HEAD, is_trained_directory, read_backbone
from sparkvision.storage.files import file_sha256

if TYPE_CHECKING:
    from sparkvision.storage.model_files import Artifact, Shipped

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: format family -> preprocessing defaults
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "keras": {"image_size": 224, "crop": "none", "scale": 1 / 255, "mean": (0.0, 0.0, 0.0),
              "std": (1.0, 1.0, 1.0), "layout": "nhwc", "interpolation": "bilinear"},
    "torch": {"image_size": 224, "crop": "center", "scale": 1 / 255, "mean": IMAGENET_MEAN,
              "std": IMAGENET_STD, "layout": "nchw", "interpolation": "bilinear"},
}


def resolve_model(
    model: Any = "catdog",
    *,
    task: str = "classify",
    engine: str = "auto",
    threads: int = 1,
    shipper: Shipper | None = None,
    model_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    arch: Any = None,
    ship: str = "auto",
    device: str = "auto",
    precision: str = "fp32",
    calibrate: Any = None,
    trust_model_code: bool = False,
    py_files: Sequence[str] | str | None = None,
    **options: Any,
) -> ModelSpec:
    """A :class:`ModelSpec` for ``model`` (see the module docstring).

    ``options`` are model-card keys (``image_size=200, labels=("cat", "dog")``...); they
    override ``model_config`` (a card file or a dict of the same keys). ``py_files`` are
    ``.py``/``.zip`` files holding the code a ``module:callable`` needs: added to this
    process's ``sys.path`` and shipped to the workers with ``spark.addArtifacts``.
    ``shipper`` sends files to a session's workers (default: none, files are read by path;
    :func:`sparkvision.jobs.prepare.prepare_model` passes the session's).
    ``precision="int8"`` quantizes an ONNX model here (:mod:`.quantize`) on ``calibrate``
    (folders, globs, image files or list files; the built-in models default to the
    built-in calibration set) and ships the int8 file.

    >>> spec = resolve_model("catdog")
    >>> (spec.format, spec.engine, spec.head, spec.preprocess.size)
    ('onnx', 'onnx', 'catdog', 224)
    """
    if isinstance(model, ModelSpec):
        return model
    if is_model_uri(model):  # models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/PATH
        ref, logged = logged_reference(fetch(model))
        if logged.kind != "trained":
            model_config = {**logged.options, **card_options(model_config)}
        return resolve_model(ref, task=task, engine=logged.engine if engine == "auto" else engine,
                             threads=threads, shipper=shipper, model_config=model_config,
                             arch=arch, ship=ship, device=device, precision=precision,
                             calibrate=calibrate, trust_model_code=trust_model_code,
                             py_files=py_files, **options)
    shipper = shipper or LocalShipper()
    model, model_config, options = zero_shot_model(model, task, model_config, options)
    if is_trained_directory(model):
        if model_config is not None or options or arch is not None:
            raise ConfigError(
                f"{os.fspath(model)} is a trained model: its card and backbone say how to feed "
                "and read it; drop the model options"
            )
        return _resolve_trained(os.fspath(model), task=task, engine=engine, threads=threads,
                                shipper=shipper, ship=ship, device=device,
                                precision=precision)
    opts = _gather_options(model_config, options, arch)
    if py_files:
        add_py_files([py_files] if isinstance(py_files, str) else list(py_files), shipper)
    arch_ref = _arch_ref(opts)
    found = locate(model, task=task, engine=engine, fmt=opts.get("format"),
                   trust=trust_model_code, fetch=shipper.fetch)
    base = _base_spec(found, opts, arch_ref, engine=engine, threads=threads,
                      precision=precision)
    _check_precision(base, precision, device)
    spec, local = _in_precision(_fit(base, found, opts, task), found, model, precision,
                                calibrate)
    shipped, artifact = _ship(spec, local, shipper, ship)
    return spec.with_(shipped=shipped, artifact=artifact, device=device, precision=precision)


def _in_precision(spec: ModelSpec, found: Located, model: Any, precision: str,
                  calibrate: Any) -> tuple[ModelSpec, str | None]:
    """``spec`` and its local file, quantized for ``precision="int8"``."""
    if precision == "int8":
        spec = _quantized(spec, found, model, calibrate)
        return spec, spec.artifact
    if calibrate is not None:
        raise ConfigError(f"`calibrate` goes with `precision` int8; found `precision` {precision}")
    return spec, found.local


def _base_spec(found: Located, opts: dict[str, Any], arch_ref: Any, *, engine: str,
               threads: int, precision: str) -> ModelSpec:
    """What ``found`` is before its card is fitted: raw outputs, fp32, on the CPU."""
    picked = registry.pick_engine(found.format, engine, found.name, precision)
    return ModelSpec(
        name=found.name, format=one_of("model format", found.format, FORMATS),
        engine=one_of("engine", picked, ENGINES),
        head="logits", threads=threads, artifact=found.artifact,
        artifact_sha256=file_sha256(found.local) if found.local else None,
        arch=_arch_value(found, opts, arch_ref),
        output_name=opts.get("output_name", found.card.get("output_name")),
        device="cpu", precision="fp32", trust_code=found.trust,
    )


def _ship(spec: ModelSpec, local: str | None, shipper: Shipper,
          ship: str) -> tuple[Shipped | Artifact | None, str | None]:
    """``(shipped, artifact)``: how the workers get the model file ``local`` (the driver's
    copy of ``spec.artifact``; see :mod:`.shipping`)."""
    if local is None or spec.artifact is None:
        return None, spec.artifact
    return shipper.ship(spec, local, ship)


def _resolve_trained(folder: str, *, task: str, engine: str, threads: int, shipper: Shipper,
                     ship: str, device: str, precision: str) -> ModelSpec:
    """A ``sparkvision train`` folder: its backbone resolved for embeddings (its weights
    checked against the hash training recorded), fused with the head (:mod:`.trained`)."""
    if task != "classify":
        raise ConfigError(
            f"{folder} is a trained classifier; embed with its backbone instead "
            f"(`model` {read_backbone(folder).model})"
        )
    backbone = read_backbone(folder)
    inner = resolve_model(backbone.model, task="embed",
                          engine=backbone.engine if engine == "auto" else engine,
                          threads=threads, shipper=shipper, ship=ship, device=device,
                          precision=precision, **backbone.options)
    card, head = read_card(os.path.join(folder, CARD)), os.path.abspath(os.path.join(folder, HEAD))
    spec = ModelSpec(  # softmax; sigmoid where a card says (zero-shot SigLIP, :mod:`.clip`)
        name=os.path.basename(os.path.abspath(folder)), format="trained", engine=inner.engine,
        head=card.get("output", "softmax"), preprocess=inner.preprocess, threads=threads,
        artifact=head, artifact_sha256=file_sha256(head), labels=tuple(card.get("labels", ())),
        backbone=inner,
    )
    width = _probe_width(registry.build_engine(spec), spec.preprocess, spec.name)
    try:
        check_head(spec.head, width, spec.labels)
    except ValueError as exc:
        raise ConfigError(f"trained model {folder}: {exc}") from None
    shipped, artifact = shipper.ship(spec, head, ship)
    return spec.with_(shipped=shipped, artifact=artifact, device=device, precision=precision)


def _fit(base: ModelSpec, found: Located, opts: dict[str, Any], task: str) -> ModelSpec:
    """Probe the model and settle preprocessing, head and labels (steps 3-5)."""
    engine = registry.build_engine(base)
    facts = registry.inspect(base, engine)
    nhwc = facts.get("layout") == "nhwc" and base.format == "onnx"
    family = "keras" if base.format == "keras" or nhwc else "torch"
    said = {**facts, **found.card, **opts}  # what the model, its card and the user say
    merged = {**FAMILY_DEFAULTS[family], **said}
    preprocess = _preprocess(merged, resize_given="resize" in said)
    width = _probe_width(engine, preprocess, base.name)
    head = _head(task, merged.get("output"), width, base.name)
    # Labels the model names itself (a Hugging Face id2label) apply only to class outputs.
    labels = tuple(merged.get("labels", ()) if head in GENERIC_HEADS
                   else {**found.card, **opts}.get("labels", ()))
    try:
        check_head(head, width, labels)
    except ValueError as exc:
        raise ConfigError(f"model {base.name}: {exc}") from None
    return base.with_(
        head=head, preprocess=preprocess, labels=labels,
        threshold=float(merged.get("threshold", 0.5)),
        from_logits=bool(merged.get("from_logits", True)),
    )


def _gather_options(model_config: Any, options: Mapping[str, Any], arch: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if model_config is not None:
        if isinstance(model_config, Mapping):
            opts.update(normalize(model_config, where="model_config"))
        else:
            opts.update(read_card(os.fspath(model_config)))
    opts.update(normalize(options, where="model options"))
    if arch is not None:
        opts["arch"] = arch if callable(arch) else normalize({"arch": arch})["arch"]
    return opts


def _arch_ref(opts: dict[str, Any]) -> Any:
    """A callable ``arch`` checked and pickled first: a callable that cannot reach the
    workers is the likeliest mistake."""
    if "arch" in opts and not isinstance(opts["arch"], str):
        return callable_ref(opts["arch"], what="the architecture")
    return None


def _arch_value(found: Located, opts: dict[str, Any], arch_ref: Any) -> Any:
    """What builds the torch network: the callable model itself, or ``--arch``."""
    if "arch" not in opts:
        if found.format == "callable" and isinstance(found.arch, str):
            load_callable(found.arch)  # fail now if it cannot be imported
        return found.arch
    if found.format == "callable":
        raise ConfigError("`arch` goes with a weights file; `model` is already a callable")
    if found.format != "torch":
        raise ConfigError(
            f"`arch` builds the network for a torch state-dict file; {found.name} is a "
            f"{found.format} model, which carries its own architecture: drop `arch`"
        )
    if arch_ref is None:
        load_callable(opts["arch"])  # fail now if it cannot be imported
    return arch_ref or opts["arch"]


def _check_precision(spec: ModelSpec, precision: str, device: str) -> None:
    """What each engine runs: ONNX Runtime fp32 and int8, OpenVINO fp32, bf16 and int8
    (CPU only), torch and Keras fp32, fp16 and bf16."""
    if spec.engine == "onnx" and precision in ("fp16", "bf16"):
        hint = ("run bf16 on OpenVINO: `engine` openvino (pip install 'sparkvision[openvino]')"
                if precision == "bf16" else "convert the file to float16 with "
                "onnxconverter-common to run it in half precision")
        raise ConfigError(
            f"`precision` {precision} does not apply to ONNX Runtime: an ONNX file runs in "
            f"the precision it was saved in, or in int8 (`precision` int8); {hint}; or use "
            "`precision` fp32"
        )
    if spec.engine == "openvino" and precision == "fp16":
        raise ConfigError("`engine` openvino runs fp32, bf16 or int8 on the CPU; found "
                          "`precision` fp16")
    if precision == "int8" and spec.format != "onnx":
        raise ConfigError(
            f"`precision` int8 quantizes ONNX models (the built-in ones included) for the "
            f"onnx and openvino engines; {spec.name} is a {spec.format} model on "
            f"{spec.engine}. Export it to ONNX, or use `precision` fp32, fp16 or bf16"
        )
    if spec.format == "onnx" and precision != "fp32" and device == "cuda":
        raise ConfigError(f"`precision` {precision} runs ONNX models on the CPU; found "
                          "`device` cuda. Use `precision` fp32 on a GPU")


def _quantized(spec: ModelSpec, found: Located, model: Any, calibrate: Any) -> ModelSpec:
    """``spec`` on the int8 file quantized from its ONNX file (built once, cached), which
    is then built and run on a blank image like the original."""
    import sparkvision.models.builtin.catalog as builtin
    from sparkvision.models.int8.calibration import builtin_calibration, user_calibration
    from sparkvision.models.int8.quantize import operator_format, quantize

    if calibrate is not None:
        calibration = user_calibration(calibrate)
    elif builtin.is_builtin(model):
        calibration = builtin_calibration()
    else:
        raise ConfigError(
            f"`precision` int8 measures activation ranges on sample images; for your model "
            f"{spec.name} pass `calibrate` PHOTOS / calibrate= (a folder or files like your "
            f"inputs; the command line uses the first inputs when it is missing)"
        )
    if not calibration.count:
        raise ConfigError(f"`calibrate`: {calibration.description} holds no image")
    path, built = quantize(found.local or "", spec.artifact_sha256 or "",
                           fmt=operator_format(spec.engine), pre=spec.preprocess,
                           calibration=calibration)
    if built:
        print(f"sparkvision: quantized {spec.name} to int8 on {calibration.description}: "
              f"{path}", file=sys.stderr)
    int8 = spec.with_(artifact=path, artifact_sha256=file_sha256(path), precision="int8")
    width = _probe_width(registry.build_engine(int8), int8.preprocess, spec.name)
    try:
        check_head(int8.head, width, int8.labels)
    except ValueError as exc:
        raise ModelError(f"the int8 file of {spec.name} gives other outputs: {exc}") from None
    return int8


def add_py_files(files: list[str], shipper: Shipper | None = None) -> None:
    """Make each ``.py``/``.zip`` importable here and, through the ``shipper`` (a session's
    adds it with ``spark.addArtifacts(path, pyfile=True)``), on the workers."""
    for item in files:
        for path in (p.strip() for p in item.split(",")):
            if not path:
                continue
            if not os.path.isfile(path):
                raise ConfigError(f"`py_files`: {path} is not a file; expected a .py or .zip file")
            entry = os.path.abspath(path)
            if path.endswith(".py"):
                entry = os.path.dirname(entry)
            if entry not in sys.path:
                sys.path.insert(0, entry)
            if shipper is not None:
                shipper.add_code(path)


def _preprocess(merged: dict[str, Any], *, resize_given: bool) -> Preprocess:
    size = int(merged["image_size"])
    crop = merged["crop"]
    if crop == "none":
        resize = size
    elif resize_given and int(merged["resize"]) >= size:
        resize = int(merged["resize"])
    else:
        resize = round(size * 256 / 224)
    return Preprocess(
        size=size, resize=resize, crop=crop, scale=float(merged["scale"]),
        mean=tuple(merged["mean"]), std=tuple(merged["std"]), layout=merged["layout"],
        interpolation=merged["interpolation"], decode=merged.get("decode", "exact"),
    )


def _probe_width(engine: Any, pre: Preprocess, name: str) -> int:
    shape = (1, 3, pre.size, pre.size) if pre.layout == "nchw" else (1, pre.size, pre.size, 3)
    try:
        out = engine(np.zeros(shape, dtype=np.float32))["output"]
    except Exception as exc:
        raise ModelError(
            f"model {name} failed on a blank {pre.layout.upper()} image of {pre.size}x{pre.size} "
            f"(input shape {shape}): {type(exc).__name__}: {short_error(exc).rstrip('.')}. Check "
            "`image_size` and `layout` (or the model card)"
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
                f"embed writes the model's output as a vector; `output` {output} is for "
                "classify"
            )
        return "embedding"
    if output == "embedding":
        raise ConfigError(
            f"model {name} gives embeddings, not labels (`output` embedding): use the embed "
            "command, or classify with 'catdog' or 'imagenet'"
        )
    if output is not None:
        return output
    return "sigmoid" if width == 1 else "softmax"
