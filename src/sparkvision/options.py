"""The settings vocabulary: every option a run takes, each declared once, typed.

- :class:`SparkOptions`: where Spark runs (``master``, ``remote``, ``conf``, ``verbose``);
- :class:`ModelOptions`: how to feed and read a model (the model-card keys) and how it
  runs (``device``, ``precision``, ``ship``, ...);
- :class:`ModelRequest`: a model reference, its task, engine, threads, batch size and
  its :class:`ModelOptions`: what :func:`sparkvision.jobs.prepare.prepare_model` turns
  into a shipped, probed :class:`~sparkvision.config.ModelSpec`.

The command line, the Python API and the ML stages are made from these declarations: a
field's ``metadata`` holds its help text (and choices), so a new option is one field
here (see docs/architecture.md). Errors name parameters (```batch_size```); the command
line shows them as its flags (``--batch-size``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from sparkvision.config import (
    CROPS,
    DECODES,
    DEFAULT_BATCH_SIZE,
    DEFAULT_EXECUTION,
    DEFAULT_EXTENSIONS,
    DEVICES,
    ENGINE_CHOICES,
    EXECUTIONS,
    HEADS,
    INTERPOLATIONS,
    LAYOUTS,
    PRECISIONS,
    SHIP_MODES,
    TASKS,
    one_of,
)
from sparkvision.errors import ConfigError


def _opt(help: str, *, metavar: str | None = None, choices: tuple[str, ...] | None = None,
         card: bool = True, flag: bool = True) -> dict[str, Any]:
    """A field's metadata: ``help`` for ``--help``; ``card``: a model-card key too;
    ``flag``: the command line has a flag for it."""
    return {"help": help, "metavar": metavar, "choices": choices, "card": card, "flag": flag}


_SECRET = re.compile(r"secret|password|passwd|token|credential|(^|[._])key$|sas|signature",
                     re.IGNORECASE)
MASK = "*****"


def is_secret_key(key: str) -> bool:
    """Whether a setting named ``key`` holds a secret (its value is masked when echoed).

    >>> [is_secret_key(k) for k in ("secret", "key", "fs.s3a.secret.key", "anon", "region")]
    [True, True, True, False, False]
    """
    return bool(_SECRET.search(key))


def mask(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with the values of secret-looking keys masked, nested ones too."""
    return {k: (MASK if is_secret_key(k) else mask(v) if isinstance(v, Mapping) else v)
            for k, v in settings.items()}


class StorageOptions(Mapping[str, Any]):
    """fsspec file-system options, the same for every scheme; printed masked."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self._options = dict(options or {})

    @classmethod
    def parse(cls, pairs: Iterable[str]) -> StorageOptions:
        """``KEY=VALUE`` pairs; a value that reads as JSON (``true``, ``3``, ``{...}``) is
        taken as such, any other as text; ``a.b=v`` sets key ``b`` inside ``a``."""
        options: dict[str, Any] = {}
        for pair in pairs:
            key, sep, text = pair.partition("=")
            if not sep or not key.strip():
                raise ConfigError(
                    f"`storage_option` expects KEY=VALUE, found {pair.split('=')[0]!r} without "
                    "'='; e.g. --storage-option anon=true")
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            *parents, last = key.strip().split(".")
            target = options
            for part in parents:
                target = target.setdefault(part, {})
                if not isinstance(target, dict):
                    raise ConfigError(f"`storage_option` {key}: {part} is already a value")
            target[last] = value
        return cls(options)

    def __getitem__(self, key: str) -> Any:
        return self._options[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._options)

    def __len__(self) -> int:
        return len(self._options)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self) == dict(other)

    def __hash__(self) -> int:
        return hash(json.dumps(self._options, sort_keys=True, default=str))

    def __repr__(self) -> str:
        return f"StorageOptions({mask(self._options)!r})"


@dataclass(frozen=True)
class SparkOptions:
    """Where and how Spark runs: ``master`` (a URL, default ``local[*,4]``) or ``remote``
    (a Spark Connect ``sc://HOST:PORT``; default ``$SPARK_REMOTE`` when set), ``conf``
    (Spark settings as ``(key, value)`` pairs or a mapping) and ``verbose`` (Spark's own
    start-up lines and warnings on the terminal), and ``storage``: the fsspec options for
    inputs in object stores (``s3://``), which the listing and reading tasks receive. Printed,
    the values of secret-looking keys are masked."""

    master: str | None = None
    remote: str | None = None
    conf: tuple[tuple[str, str], ...] = ()
    verbose: bool = False
    storage: StorageOptions = field(default_factory=StorageOptions)

    def __post_init__(self) -> None:
        if isinstance(self.conf, Mapping):
            object.__setattr__(self, "conf", tuple((str(k), str(v))
                                                   for k, v in self.conf.items()))
        if not isinstance(self.storage, StorageOptions):
            object.__setattr__(self, "storage", StorageOptions(self.storage))
        if self.master and self.remote:
            raise ConfigError(f"`master` {self.master} and `remote` {self.remote} both say "
                              "where to run: pass one (`remote` for a Spark Connect server)")

    @property
    def given(self) -> bool:
        """Whether any setting says where to run (else the active session is used)."""
        return bool(self.master or self.remote or self.conf)

    def __repr__(self) -> str:
        conf = tuple(mask(dict(self.conf)).items())
        return (f"SparkOptions(master={self.master!r}, remote={self.remote!r}, conf={conf!r}, "
                f"verbose={self.verbose!r}, storage={self.storage!r})")


@dataclass(frozen=True)
class ModelOptions:
    """How to feed and read a model (the model-card keys, which a ``model_config`` card
    file or dict may also hold; these win over it) and how it runs. ``None`` leaves a
    key to the model's card or to what is read from the model."""

    model_config: str | os.PathLike[str] | Mapping[str, Any] | None = field(
        default=None, metadata=_opt("model card (.toml/.json) with any of the keys below, "
                                    "e.g. image_size, scale, labels; flags override it",
                                    metavar="FILE", card=False))
    arch: str | Callable[..., Any] | None = field(
        default=None, metadata=_opt("builds the torch network a state-dict file (--model) is "
                                    "loaded into", metavar="MODULE:CALLABLE"))
    format: str | None = field(default=None, metadata=_opt(
        "the model file's format when its name does not say it", flag=False))
    image_size: int | None = field(default=None, metadata=_opt(
        "side of the square model input, pixels", metavar="N"))
    resize: int | None = field(default=None, metadata=_opt(
        "shorter side before a center crop", metavar="N"))
    crop: str | None = field(default=None, metadata=_opt(
        "center: resize the shorter side, then crop the middle; none: resize the whole "
        "image to the input size (Keras' way)", choices=CROPS))
    scale: float | str | None = field(default=None, metadata=_opt(
        "pixel multiplier before mean/std, e.g. 1/255", metavar="X"))
    mean: Sequence[float] | str | None = field(default=None, metadata=_opt(
        "subtracted after scaling (1 or 3 values)", metavar="M[,M,M]"))
    std: Sequence[float] | str | None = field(default=None, metadata=_opt(
        "divided by after the mean (1 or 3 values)", metavar="S[,S,S]"))
    layout: str | None = field(default=None, metadata=_opt(
        "input layout (default: from the model)", choices=LAYOUTS))
    interpolation: str | None = field(default=None, metadata=_opt(
        "resampling filter", choices=INTERPOLATIONS))
    decode: str | None = field(default=None, metadata=_opt(
        "fast: JPEGs decoded at a reduced size where the model's input allows (the "
        "built-in models' default); exact: full-size decode before the model's own "
        "resize and crop (default for your models)", choices=DECODES))
    output: str | None = field(default=None, metadata=_opt(
        "how to read the output (classify: one value -> sigmoid, several -> softmax)",
        choices=HEADS))
    output_name: str | None = field(default=None, metadata=_opt(
        "ONNX output, Keras layer, or index/key of a torch output tuple/dict",
        metavar="NAME"))
    labels: Sequence[str] | str | None = field(default=None, metadata=_opt(
        "class names in output order (sigmoid: below,at-or-above threshold); for a CLIP "
        "model folder, the labels to choose among (zero-shot)",
        metavar="A,B,..."))
    labels_file: str | os.PathLike[str] | None = field(default=None, metadata=_opt(
        "a text file of labels, one a line (for long lists, or labels with commas)",
        metavar="FILE", card=False))
    prompt: str | None = field(default=None, metadata=_opt(
        "a CLIP model's zero-shot labels: the text each label is put into, {} for the "
        "label (default 'This is a photo of {}.')", metavar="TEMPLATE", card=False))
    threshold: float | None = field(default=None, metadata=_opt(
        "sigmoid: score >= T is the second label (0.5)", metavar="T"))
    from_logits: bool | None = field(default=None, metadata=_opt(
        "yes: apply softmax/sigmoid; no: the model already does (default: detected from the "
        "model's last layer, else yes)", choices=("yes", "no")))
    py_files: str | Sequence[str] | None = field(default=None, metadata=_opt(
        "comma-separated .py/.zip files with the code --model/--arch module:callable needs, "
        "shipped to the workers (like spark-submit's)", metavar="FILES", card=False))
    ship: str = field(default="auto", metadata=_opt(
        "how the model file reaches the workers: path (they read it), broadcast (the driver "
        "sends it; classic sessions), artifact (the driver adds it with spark.addArtifacts; "
        "also under Spark Connect), auto (path on local masters and for URIs, else "
        "broadcast, or artifact under Spark Connect)", choices=SHIP_MODES, card=False))
    device: str = field(default="auto", metadata=_opt(
        "auto: a GPU when the worker has one; cpu; cuda (fail without a GPU)",
        choices=DEVICES, card=False))
    precision: str = field(default="fp32", metadata=_opt(
        "number type the network runs in (default fp32, exact): fp16/bf16 for torch and "
        "Keras models, bf16 on --engine openvino, int8 (quantized once and cached) for ONNX "
        "models and the built-in ones; see docs/usage.md", choices=PRECISIONS, card=False))
    calibrate: str | Sequence[str] | None = field(default=None, metadata=_opt(
        "--precision int8: images to measure activation ranges on (a folder, glob or files "
        "like your inputs; the first 100). Default: the built-in set for the built-in "
        "models, the first 100 inputs for yours", metavar="PHOTOS", card=False))
    trust_model_code: bool = field(default=False, metadata=_opt(
        "allow model files whose loading can run code: pickled torch models, Keras Lambda "
        "layers. Only for files you trust", card=False))

    def __post_init__(self) -> None:
        one_of("`ship`", self.ship, SHIP_MODES)
        one_of("`device`", self.device, DEVICES)
        one_of("`precision`", self.precision, PRECISIONS)
        if self.decode is not None:
            one_of("`decode`", self.decode, DECODES)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> ModelOptions:
        """Options from keyword arguments; an unknown name is an error that lists the
        known ones (``None`` values are left out)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"unknown model option(s) {', '.join(unknown)}; expected any of "
                f"{', '.join(sorted(known))} (docs/byo-models.md)")
        return cls(**{k: v for k, v in options.items() if v is not None})

    def as_kwargs(self) -> dict[str, Any]:
        """The options that differ from their defaults, as keyword arguments of
        :func:`sparkvision.models.resolve_model`."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != f.default}

    def with_(self, **changes: Any) -> ModelOptions:
        return replace(self, **changes)


def model_option_fields() -> tuple[Any, ...]:
    """The declared model options (dataclass fields, with their help in ``metadata``)."""
    return fields(ModelOptions)


@dataclass(frozen=True)
class ModelRequest:
    """What the caller asked for, before anything is loaded: a model reference (a built-in
    name, a file, a ``module:callable``, a callable or an ``nn.Module``), the task, the
    engine (``auto``: the one the model's format runs on), engine ``threads`` per task
    (``None``: ``spark.task.cpus``), images per model call, and the model options."""

    model: Any = "catdog"
    task: str = "classify"
    engine: str = "auto"
    threads: int | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    options: ModelOptions = field(default_factory=ModelOptions)

    def __post_init__(self) -> None:
        one_of("task", self.task, TASKS)
        one_of("`engine`", self.engine, ENGINE_CHOICES)
        check_batch_size(self.batch_size)
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"`threads` must be >= 1 (or unset: spark.task.cpus); "
                              f"found {self.threads}")
        if isinstance(self.options, Mapping):
            object.__setattr__(self, "options", ModelOptions.from_mapping(self.options))

    def with_(self, **changes: Any) -> ModelRequest:
        return replace(self, **changes)


def check_batch_size(batch_size: int) -> int:
    """``batch_size`` if it is a positive number of images; a ConfigError otherwise.

    >>> check_batch_size(16)
    16
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"`batch_size` must be a whole number >= 1 (images per model "
                          f"call); found {batch_size!r}")
    return batch_size


def parse_extensions(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """File extensions to pick up from folders and globs, as ``.ext`` in lower case;
    ``None`` or empty: the defaults. A comma-separated string or any iterable.

    >>> parse_extensions("JPG, .png")
    ('.jpg', '.png')
    >>> parse_extensions(None) == DEFAULT_EXTENSIONS
    True
    """
    items = value.split(",") if isinstance(value, str) else list(value or ())
    found = tuple(dict.fromkeys("." + e.strip().lstrip(".").lower()
                                for e in items if e.strip().lstrip(".")))
    return found or DEFAULT_EXTENSIONS


@dataclass(frozen=True)
class RunConfig:
    """How one classify/embed job executes and where it writes (not what model it runs):
    ``out`` and its ``format``, the ``execution``, true labels (``label_from``), sorting
    (``sort_into``, ``sort_mode``), ``overwrite``/``resume``, ``chunk_size`` (images per
    committed chunk; ``None``: the default, 0: one chunk), ``quiet`` (no progress bar) and
    the :class:`SparkOptions`."""

    out: str
    format: str | None = None
    execution: str = DEFAULT_EXECUTION
    label_from: str | None = None
    sort_into: str | None = None
    sort_mode: str = "copy"
    overwrite: bool = False
    quiet: bool = False
    resume: bool = False
    chunk_size: int | None = None
    spark: SparkOptions = field(default_factory=SparkOptions)

    def __post_init__(self) -> None:
        one_of("`execution`", self.execution, EXECUTIONS)
        if self.execution == "python" and (self.spark.remote or self.spark.conf):
            raise ConfigError(
                "`execution` python runs in this process without Spark: `remote` and `conf` "
                "do not apply; drop them or pick a Spark execution")
        if self.resume and self.overwrite:
            raise ConfigError(
                "`resume` keeps what `out` holds and `overwrite` deletes it: pass only one")
        if self.resume and self.execution == "python":
            raise ConfigError(
                "`resume` needs a Spark execution (iterator, pandas or udf): the python "
                "execution commits its output once, at the end, so a killed run leaves "
                "nothing to resume from")
        if self.chunk_size is not None and self.chunk_size < 0:
            raise ConfigError(f"`chunk_size` must be >= 0 (0: one chunk); found "
                              f"{self.chunk_size}")
