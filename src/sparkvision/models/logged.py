"""Models logged to MLflow by sparkvision, read back as sparkvision models.

A model logged with :func:`sparkvision.mlflow.log_model` carries the sparkvision model
itself as one artifact folder (:data:`ARTIFACT`), laid out by :func:`package`:

==========================  ================================================================
``sparkvision.json``        what the folder holds: ``kind`` (builtin, file, hf, trained), the
                            model's name inside the folder, the task, the engine and the card
                            keys it was logged with
``<model file or folder>``  a copy of the model file, Hugging Face folder or trained folder
                            (a trained folder's backbone file, when it is not a built-in
                            model, is copied into it as ``backbone/<name>``)
==========================  ================================================================

The built-in models are a name: their weights come with sparkvision's own requirements.

Model URIs (``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``runs:/RUN_ID/PATH``) are
fetched once per process (:func:`fetch`, with ``mlflow.artifacts.download_artifacts``) and
then resolved as the model they hold (:func:`logged_reference`). A model that sparkvision
did not log is refused with the flavors it has.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sparkvision.models.builtin.catalog as builtin
from sparkvision.errors import ConfigError, MissingExtraError, ModelError
from sparkvision.models.card import normalize, read_card
from sparkvision.models.trained import BACKBONE, CARD, HEAD, REPORT, is_trained_directory

#: the artifact (a folder) of a logged model that holds the sparkvision model
ARTIFACT = "sparkvision_model"
#: the description inside it
DESCRIPTION = "sparkvision.json"
#: the key of a logged model's MLmodel ``metadata`` that marks it as sparkvision's
MARKER = "sparkvision"
#: the schemes of model URIs
URI_SCHEMES = ("models:/", "runs:/")
#: seconds a tracking server has to answer before a model URI is given up on
SERVER_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Logged:
    """What a logged model's folder holds (:data:`DESCRIPTION`)."""

    kind: str
    model: str
    task: str = "classify"
    engine: str = "auto"
    options: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.model, "task": self.task,
                "engine": self.engine, "options": self.options}


def require_mlflow(purpose: str) -> Any:
    """The ``mlflow`` module (``mlflow.pyfunc`` loaded), or an error naming the extra that
    installs it."""
    try:
        with warnings.catch_warnings():
            # mlflow.pyfunc warns about its own chat types' hints the first time it loads
            warnings.filterwarnings("ignore", message=".*type hint is inferred as AnyType")
            import mlflow
            import mlflow.pyfunc
    except ImportError as exc:
        raise MissingExtraError("mlflow", "mlflow", purpose) from exc
    return mlflow


def is_model_uri(model: object) -> bool:
    return isinstance(model, str) and model.startswith(URI_SCHEMES)


def package(model: Any, folder: str, *, task: str, engine: str = "auto",
            options: dict[str, Any] | None = None) -> Logged:
    """Copy what ``model`` needs to run into the empty ``folder`` and describe it there;
    ``options`` are card keys (normalised here)."""
    if not isinstance(model, (str, os.PathLike)):
        raise ConfigError(
            "an MLflow model is logged from a built-in name, a model file, a Hugging Face "
            f"folder or a trained model folder; found {type(model).__name__}. Save the model "
            "to a file (ONNX, TorchScript, Keras) and log that")
    text = os.fspath(model)
    opts = normalize(options or {}, where="model options")
    if "arch" in opts:
        raise ConfigError("`arch` names code that an MLflow model would not carry: export the "
                          "network to ONNX or TorchScript and log that file")
    if builtin.is_builtin(text):
        logged = Logged("builtin", text.lower(), task, engine, _jsonable(opts))
    elif is_trained_directory(text):
        if opts:
            raise ConfigError(f"{text} is a trained model: its card says how to feed and read "
                              "it; drop the model options")
        logged = Logged("trained", _copy_trained(text, folder), "classify", engine)
    elif os.path.isdir(text):
        name = os.path.basename(os.path.abspath(text))
        shutil.copytree(text, os.path.join(folder, name))
        logged = Logged("hf", name, task, engine, _jsonable(opts))
    elif os.path.isfile(text):
        name = os.path.basename(text)
        shutil.copy2(text, os.path.join(folder, name))
        logged = Logged("file", name, task, engine, _jsonable(opts))
    else:
        raise ModelError(f"model {text!r} is not a built-in model, a file or a folder; an "
                         "MLflow model is logged from one of those")
    with open(os.path.join(folder, DESCRIPTION), "w", encoding="utf-8") as fh:
        json.dump(logged.as_dict(), fh, indent=2, sort_keys=True)
    return logged


def _copy_trained(source: str, folder: str) -> str:
    """A trained folder without its training features; a backbone file copied into it."""
    name = os.path.basename(os.path.abspath(source))
    dest = os.path.join(folder, name)
    os.makedirs(dest)
    for item in (CARD, HEAD, BACKBONE, REPORT):
        if os.path.isfile(os.path.join(source, item)):
            shutil.copy2(os.path.join(source, item), os.path.join(dest, item))
    with open(os.path.join(source, BACKBONE), encoding="utf-8") as fh:
        backbone = json.load(fh)
    ref = backbone["model"]
    if not builtin.is_builtin(ref):
        path = ref if os.path.isabs(ref) else os.path.join(source, ref)
        os.makedirs(os.path.join(dest, "backbone"))
        shutil.copy2(path, os.path.join(dest, "backbone", os.path.basename(path)))
        backbone["model"] = f"backbone/{os.path.basename(path)}"  # relative to the folder
        with open(os.path.join(dest, BACKBONE), "w", encoding="utf-8") as fh:
            json.dump(backbone, fh, indent=2)
    return name


def _jsonable(opts: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in opts.items()}


def read_logged(folder: str) -> Logged:
    path = os.path.join(folder, DESCRIPTION)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return Logged(kind=data["kind"], model=data["model"], task=data.get("task", "classify"),
                      engine=data.get("engine", "auto"), options=data.get("options", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path} does not describe a sparkvision model: {exc}") from None


def logged_reference(folder: str) -> tuple[str, Logged]:
    """The model reference ``folder`` (a :func:`package` folder) stands for: a built-in
    name or a path inside it; and its description."""
    logged = read_logged(folder)
    if logged.kind == "builtin":
        return logged.model, logged
    return os.path.join(os.path.abspath(folder), logged.model), logged


_FETCHED: dict[str, str] = {}


def fetch(uri: str) -> str:
    """The local :func:`package` folder of the sparkvision model at ``uri``, downloaded
    once per process."""
    if uri in _FETCHED:
        return _FETCHED[uri]
    require_mlflow(f"the model URI {uri}")
    import mlflow
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    server = (mlflow.get_registry_uri() if uri.startswith("models:/")
              else mlflow.get_tracking_uri())
    check_server(server, uri)
    try:
        with _few_retries():
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri)
    except MlflowException as exc:
        raise ModelError(f"model {uri} could not be fetched from {server}: "
                         f"{_first_line(exc.message)}") from None
    except OSError as exc:
        raise ModelError(f"model {uri} could not be fetched from {server}: {exc}") from None
    _FETCHED[uri] = logged_folder(local, uri)
    return _FETCHED[uri]


def logged_folder(local: str, uri: str) -> str:
    """The :data:`ARTIFACT` folder of the MLflow model downloaded to ``local``; a model
    that sparkvision did not log is refused with its flavors."""
    import yaml

    mlmodel = os.path.join(local, "MLmodel")
    if not os.path.isfile(mlmodel):
        raise ModelError(f"{uri} is not an MLflow model (no MLmodel file in it); expected a "
                         "model logged with sparkvision.mlflow.log_model")
    with open(mlmodel, encoding="utf-8") as fh:
        meta = yaml.safe_load(fh) or {}
    flavors = meta.get("flavors") or {}
    pyfunc = flavors.get("python_function") or {}
    artifact = ((pyfunc.get("artifacts") or {}).get(ARTIFACT) or {}).get("path")
    if MARKER not in (meta.get("metadata") or {}) or not artifact:
        raise ModelError(
            f"{uri} is an MLflow model of flavor {', '.join(flavors) or '(none)'}, not one "
            "logged by sparkvision (sparkvision.mlflow.log_model); sparkvision runs only "
            "those. Load it with mlflow.pyfunc instead")
    return os.path.join(local, artifact)


def check_server(server: str, uri: str) -> None:
    """An HTTP tracking server that does not answer within :data:`SERVER_TIMEOUT_S` is an
    error now, not after MLflow's minutes of retries."""
    if not server.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(server.rstrip("/") + "/health", timeout=SERVER_TIMEOUT_S):
            pass
    except urllib.error.HTTPError:
        return  # it answered (a proxy or a server without /health): let MLflow ask
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelError(f"model {uri}: the MLflow server {server} did not answer within "
                         f"{SERVER_TIMEOUT_S:g} s ({reason}); start it, or set "
                         "MLFLOW_TRACKING_URI to one that runs") from None


class _few_retries:
    """MLflow's HTTP retries cut to one quick attempt while a model is fetched (and no
    progress bar), unless the environment says otherwise."""

    NAMES: ClassVar[dict[str, str]] = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}

    def __enter__(self) -> None:
        self.saved = {k: os.environ.get(k) for k in self.NAMES}
        for k, v in self.NAMES.items():
            os.environ.setdefault(k, v)

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


def card_options(model_config: Any) -> dict[str, Any]:
    """Card keys of a ``model_config`` (a card file or a mapping)."""
    if model_config is None:
        return {}
    if isinstance(model_config, dict):
        return normalize(model_config, where="model_config")
    return read_card(os.fspath(model_config))
