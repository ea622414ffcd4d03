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
from typing import Literal

from .errors import ConfigError

Layout = Literal["nchw", "nhwc"]
Engine = Literal["onnx", "torch"]
Head = Literal["catdog", "imagenet", "embedding", "softmax", "sigmoid", "logits"]

ENGINES: tuple[str, ...] = ("onnx", "torch")
HEADS: tuple[str, ...] = ("catdog", "imagenet", "embedding", "softmax", "sigmoid", "logits")
#: Where a model comes from: the built-in network, or a user's model (see docs/byo-models.md).
KINDS: tuple[str, ...] = ("builtin", "keras", "torchscript", "torch", "callable", "onnx")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "bf16")
CROPS: tuple[str, ...] = ("center", "none")

#: Image extensions picked up from folders and globs when none are given.
DEFAULT_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff",
)

DEFAULT_BATCH_SIZE = 32

#: How a job runs the model: ``python`` in one process without Spark, ``udf`` a row-at-a-time
#: Spark UDF, ``pandas`` a scalar Pandas UDF, ``iterator`` an iterator Pandas UDF (default).
EXECUTIONS: tuple[str, ...] = ("python", "udf", "pandas", "iterator")
DEFAULT_EXECUTION = "iterator"


@dataclass(frozen=True)
class Preprocess:
    """How raw image bytes become one model input.

    decode -> EXIF orientation -> RGB -> resize so the shorter side is ``resize``
    -> center crop ``size`` x ``size`` -> ``(pixel * scale - mean) / std`` -> ``layout``.
    With ``crop="none"`` the whole image is resized to ``size`` x ``size`` instead
    (aspect ratio not kept, as Keras' ``image_dataset_from_directory`` does).
    """

    size: int = 224
    resize: int = 256
    scale: float = 1.0
    mean: tuple[float, float, float] = (127.0, 127.0, 127.0)
    std: tuple[float, float, float] = (128.0, 128.0, 128.0)
    layout: Layout = "nchw"
    interpolation: Literal["bilinear", "bicubic", "nearest"] = "bilinear"
    crop: Literal["center", "none"] = "center"

    def __post_init__(self) -> None:
        if self.size <= 0 or self.resize < self.size:
            raise ConfigError(
                f"preprocessing needs 0 < size <= resize; found size={self.size}, "
                f"resize={self.resize}. Set --resize to at least --image-size."
            )
        if len(self.mean) != 3 or len(self.std) != 3 or any(s == 0 for s in self.std):
            raise ConfigError(
                f"mean and std need three values each and std must be non-zero; found "
                f"mean={self.mean}, std={self.std}."
            )
        if self.layout not in ("nchw", "nhwc"):
            raise ConfigError(f"layout must be 'nchw' or 'nhwc'; found {self.layout!r}.")
        if self.crop not in CROPS:
            raise ConfigError(f"crop must be 'center' or 'none'; found {self.crop!r}.")


@dataclass(frozen=True)
class ModelSpec:
    """Which network to run, with which engine, and how to read its outputs.

    ``artifact`` is the engine file the workers load (an ONNX file for the ``onnx``
    engine); it is prepared on the driver. ``threads`` is the number of intra-op
    threads each worker's engine may use.

    A user's model (``kind`` other than ``builtin``, built by
    :func:`sparkvision.models.byo.resolve_byo`) adds: ``artifact`` is its file; ``arch``
    the ``"module:callable"`` (or a pickled callable, see :mod:`sparkvision.models.capture`)
    that builds the network; ``shipped`` the broadcast of the file's bytes when workers
    cannot read ``artifact`` (see :mod:`sparkvision.models.shipping`); ``labels``,
    ``threshold`` and ``from_logits`` read the generic heads; ``output_name`` picks an
    ONNX output or a Keras layer; ``trust_code`` allows loading formats that run code;
    ``device`` and ``precision`` say where and in which float type the network runs.
    """

    name: str
    engine: Engine = "onnx"
    head: Head = "catdog"
    preprocess: Preprocess = field(default_factory=Preprocess)
    threads: int = 1
    artifact: str | None = None
    artifact_sha256: str | None = None
    kind: str = "builtin"
    arch: object = None
    shipped: object = None
    labels: tuple[str, ...] = ()
    threshold: float = 0.5
    from_logits: bool = True
    output_name: str | None = None
    device: str = "auto"
    precision: str = "fp32"
    trust_code: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown model kind {self.kind!r}; expected one of {', '.join(KINDS)}.")
        if self.device not in DEVICES:
            raise ConfigError(
                f"unknown device {self.device!r}; expected one of {', '.join(DEVICES)}."
            )
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"unknown precision {self.precision!r}; expected one of {', '.join(PRECISIONS)}."
            )
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be within [0, 1]; found {self.threshold}.")
        if self.engine not in ENGINES:
            raise ConfigError(
                f"unknown engine {self.engine!r}; expected one of {', '.join(ENGINES)}."
            )
        if self.head not in HEADS:
            raise ConfigError(f"unknown head {self.head!r}; expected one of {', '.join(HEADS)}.")
        if self.threads < 1:
            raise ConfigError(f"threads must be >= 1; found {self.threads}.")

    @property
    def model_id(self) -> str:
        """A stable id for the per-worker cache: equal specs share one live model."""
        payload = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_(self, **changes: object) -> "ModelSpec":
        return replace(self, **changes)  # type: ignore[arg-type]


def cache_dir() -> str:
    """Where exported engine files live: ``$SPARKVISION_CACHE`` or ``~/.cache/sparkvision``."""
    root = os.environ.get("SPARKVISION_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "sparkvision",
    )
    os.makedirs(root, exist_ok=True)
    return root
