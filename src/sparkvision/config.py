"""Driver-side specifications: small frozen dataclasses that travel to the workers.

Everything a Python worker needs to rebuild a model and preprocess images is described
here, built once on the driver, pickled cheaply into the UDF closure, and turned into live
objects on the worker (see :mod:`sparkvision.executor`). Nothing here holds weights,
sessions or Spark objects.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, TypeVar, get_args

from sparkvision.errors import ConfigError

Layout = Literal["nchw", "nhwc"]
#: What runs the network: ONNX Runtime, PyTorch, Keras 3 (on its torch backend), or
#: OpenVINO (ONNX files on the CPU).
Engine = Literal["onnx", "torch", "keras", "openvino"]
#: ``auto`` picks the engine the model's format runs on (ONNX Runtime for the built-ins;
#: for ``int8``/``bf16`` the fastest installed one, see :mod:`sparkvision.models.registry`).
EngineChoice = Literal["auto", "onnx", "torch", "keras", "openvino"]
#: How outputs become result columns (see :mod:`sparkvision.models.heads`).
Head = Literal["catdog", "imagenet", "embedding", "softmax", "sigmoid", "logits"]
#: What a model file or reference is (see :mod:`sparkvision.models.registry`).
Format = Literal["onnx", "torch", "torchscript", "callable", "keras", "hf", "trained"]
Device = Literal["auto", "cpu", "cuda"]
#: The number type the network runs in: ``fp16``/``bf16`` for torch and Keras models,
#: ``bf16`` on OpenVINO, ``int8`` (static post-training quantization) for ONNX models.
Precision = Literal["fp32", "fp16", "bf16", "int8"]
Crop = Literal["center", "none"]
#: How JPEGs are decoded: ``fast`` at a reduced size (DCT scaling) where the model's input
#: allows, ``exact`` at full size before the model's own resize and crop.
Decode = Literal["fast", "exact"]
Interpolation = Literal["bilinear", "bicubic", "nearest", "lanczos", "box", "hamming"]
Ship = Literal["auto", "path", "broadcast", "artifact"]
Task = Literal["classify", "embed"]
#: How a job runs the model: ``python`` in one process without Spark, ``udf`` a row-at-a-time
#: Spark UDF, ``pandas`` a scalar Pandas UDF, ``iterator`` an iterator Pandas UDF (default).
Execution = Literal["python", "udf", "pandas", "iterator"]

LAYOUTS: tuple[str, ...] = get_args(Layout)
ENGINES: tuple[Engine, ...] = get_args(Engine)
ENGINE_CHOICES: tuple[EngineChoice, ...] = get_args(EngineChoice)
HEADS: tuple[str, ...] = get_args(Head)
FORMATS: tuple[Format, ...] = get_args(Format)
DEVICES: tuple[str, ...] = get_args(Device)
PRECISIONS: tuple[str, ...] = get_args(Precision)
CROPS: tuple[str, ...] = get_args(Crop)
DECODES: tuple[str, ...] = get_args(Decode)
INTERPOLATIONS: tuple[str, ...] = get_args(Interpolation)
SHIP_MODES: tuple[str, ...] = get_args(Ship)
TASKS: tuple[str, ...] = get_args(Task)
EXECUTIONS: tuple[Execution, ...] = get_args(Execution)
DEFAULT_EXECUTION: Execution = "iterator"

#: Image extensions picked up from folders and globs when none are given.
DEFAULT_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff",
)

DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class Preprocess:
    """How raw image bytes become one model input.

    decode -> EXIF orientation -> RGB -> resize so the shorter side is ``resize``
    -> center crop ``size`` x ``size`` -> ``(pixel * scale - mean) / std`` -> ``layout``.
    With ``crop="none"`` the whole image is resized to ``size`` x ``size`` instead
    (aspect ratio not kept, as Keras' ``image_dataset_from_directory`` does).
    ``decode="fast"`` decodes JPEGs at a reduced scale and pre-shrinks large images before
    that resize (the built-in models' way); ``"exact"`` decodes at full size, resizes the
    whole image to whole-pixel sizes and crops whole pixels, as Hugging Face image
    processors do (see :mod:`sparkvision.imaging.preprocess`).
    """

    size: int = 224
    resize: int = 256
    scale: float = 1.0
    mean: tuple[float, float, float] = (127.0, 127.0, 127.0)
    std: tuple[float, float, float] = (128.0, 128.0, 128.0)
    layout: Layout = "nchw"
    interpolation: Interpolation = "bilinear"
    crop: Crop = "center"
    decode: Decode = "fast"

    def __post_init__(self) -> None:
        if self.size <= 0 or self.resize < self.size:
            raise ConfigError(
                f"preprocessing needs 0 < size <= resize; found size={self.size}, "
                f"resize={self.resize}. Set `resize` to at least `image_size`."
            )
        if len(self.mean) != 3 or len(self.std) != 3 or any(s == 0 for s in self.std):
            raise ConfigError(
                f"mean and std need three values each and std must be non-zero; found "
                f"mean={self.mean}, std={self.std}."
            )
        _check_choice("layout", self.layout, LAYOUTS)
        _check_choice("crop", self.crop, CROPS)
        _check_choice("interpolation", self.interpolation, INTERPOLATIONS)
        _check_choice("decode", self.decode, DECODES)


@dataclass(frozen=True)
class ModelSpec:
    """Which network to run, on which engine, fed how, and how to read its output.

    Built on the driver by :func:`sparkvision.models.resolve_model` for every model alike
    (the built-in ones are an ONNX file or a state dict plus a card, see
    :mod:`sparkvision.models.builtin.catalog`) and turned into a live engine on the worker by
    :func:`sparkvision.models.registry.build_engine`:

    - ``format`` and ``engine`` pick the loader (one module per pair, see the registry);
    - ``artifact`` is the file the workers load (with ``artifact_sha256`` to check it),
      ``shipped`` the broadcast of its bytes or the file added to the session when
      workers cannot read it (:mod:`sparkvision.runtime.shipping`), ``arch`` the
      ``"module:callable"`` (or a pickled callable, :mod:`sparkvision.models.capture`)
      that builds a torch network;
    - ``output_name`` picks the output the head reads (an ONNX output, a Keras layer, an
      index or key of a torch output); ``head``, ``labels``, ``threshold`` and
      ``from_logits`` say how it becomes result columns;
    - ``backbone`` is the embedding model a ``trained`` head reads (``sparkvision train``);
    - ``threads`` is the engine's intra-op threads per worker; ``device`` and ``precision``
      where and in which float type the network runs; ``trust_code`` allows loading
      formats that run code.
    """

    name: str
    format: Format = "onnx"
    engine: Engine = "onnx"
    head: Head = "catdog"
    preprocess: Preprocess = field(default_factory=Preprocess)
    threads: int = 1
    artifact: str | None = None
    artifact_sha256: str | None = None
    arch: object = None
    #: a :class:`~sparkvision.storage.model_files.Shipped` or ``Artifact``, or ``None``
    shipped: Any = None
    labels: tuple[str, ...] = ()
    threshold: float = 0.5
    from_logits: bool = True
    output_name: str | None = None
    device: Device = "auto"
    precision: Precision = "fp32"
    trust_code: bool = False
    backbone: ModelSpec | None = None

    def __post_init__(self) -> None:
        _check_choice("model format", self.format, FORMATS)
        _check_choice("engine", self.engine, ENGINES)
        _check_choice("head", self.head, HEADS)
        _check_choice("device", self.device, DEVICES)
        _check_choice("precision", self.precision, PRECISIONS)
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be within [0, 1]; found {self.threshold}.")
        if self.threads < 1:
            raise ConfigError(f"threads must be >= 1; found {self.threads}.")

    @property
    def model_id(self) -> str:
        """A stable id for the per-worker cache: equal specs share one live model."""
        payload = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_(self, **changes: Any) -> ModelSpec:
        return replace(self, **changes)


_Choice = TypeVar("_Choice", bound=str)


def one_of(what: str, value: object, choices: tuple[_Choice, ...]) -> _Choice:
    """``value`` as the member of ``choices`` it equals; a ConfigError naming ``what`` if none.

    >>> one_of("layout", "nhwc", LAYOUTS)
    'nhwc'
    """
    for choice in choices:
        if value == choice:
            return choice
    raise ConfigError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}.")


def _check_choice(what: str, value: object, choices: tuple[str, ...]) -> None:
    one_of(what, value, choices)


def cache_dir() -> str:
    """Where exported engine files live: ``$SPARKVISION_CACHE`` or ``~/.cache/sparkvision``."""
    root = os.environ.get("SPARKVISION_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "sparkvision",
    )
    os.makedirs(root, exist_ok=True)
    return root
