"""Hugging Face image models: a folder written by ``save_pretrained``, run by PyTorch.

The folder holds ``config.json``, the weights (``model.safetensors`` or
``pytorch_model.bin``) and usually ``preprocessor_config.json`` (or, where a whole
processor was saved, as transformers 5 saves a ``CLIPProcessor``, ``processor_config.json``
with an ``image_processor`` section). What is read from them:

- preprocessing from the image processor's config, with the processor class's defaults
  for what it leaves out (transformers loads the processor; an old ``size: 224`` means
  a square for ViT and a shortest edge for CLIP): ``size`` (``height``/``width``: the
  whole image resized to that square; ``shortest_edge`` with ``crop_size``: resize the
  shorter side, then a center crop; ``shortest_edge`` with ``crop_pct``: resize to
  ``shortest_edge / crop_pct``, then crop ``shortest_edge``), ``do_rescale``/
  ``rescale_factor``, ``do_normalize``, ``image_mean``/``image_std`` and ``resample``
  (PIL's filter codes 0-5: nearest, lanczos, bilinear, bicubic, box, hamming);
- these models decode ``exact`` by default: full size, the whole image resized with the
  longer side truncated to whole pixels, then cropped at whole-pixel offsets, as
  transformers' PIL image processors do (and ``pipeline("image-classification")`` where
  torchvision is not installed or ``backend="pil"``), so the scores agree with the
  pipeline's within 1e-4;
- the labels from ``id2label``, in class-index order.

``classify`` loads the image-classification model (``AutoModelForImageClassification``)
and reads its ``logits`` through softmax; ``embed`` loads the base model
(``AutoModel``) and writes ``pooler_output``, or the mean over tokens (or positions) of
``last_hidden_state`` where the model has no trained pooler, as classification
checkpoints don't. ``output_name`` picks another output. A CLIP-family model
(:data:`DUAL_ENCODERS`: an image tower and a text tower) embeds with its image tower:
``get_image_features``, L2-normalised, the vectors its image-text logits are made of;
:mod:`sparkvision.models.clip` classifies with them by the labels' text embeddings.
Nothing is downloaded (``local_files_only``) and code shipped in a model folder is never
run (``trust_remote_code=False``). Needs the ``hf`` extra:
``pip install 'sparkvision[hf]'``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from sparkvision.config import ModelSpec
from sparkvision.errors import MissingExtraError, ModelError
from sparkvision.models.device import import_torch, torch_device, torch_dtype

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
#: PIL resampling codes in processor configs -> sparkvision's interpolation names
_RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
CLASSIFY_OUTPUT = "logits"
EMBED_OUTPUT = "pooler_output"
#: ``model_type`` of the image-text models whose image tower embeds (``get_image_features``)
DUAL_ENCODERS = ("clip", "siglip")


def model_type(path: str | os.PathLike[str]) -> str | None:
    """The ``model_type`` a Hugging Face folder's ``config.json`` names (``None``: not a
    folder saved by ``save_pretrained``)."""
    if not isinstance(path, (str, os.PathLike)) or not is_hf_directory(os.fspath(path)):
        return None
    kind = (_read_json(os.fspath(path), "config.json") or {}).get("model_type")
    return kind if isinstance(kind, str) else None


def is_hf_directory(path: str) -> bool:
    """Whether ``path`` is a folder saved by ``save_pretrained`` (a config and weights)."""
    return os.path.isfile(os.path.join(path, "config.json")) and any(
        os.path.isfile(os.path.join(path, name)) for name in WEIGHT_FILES
    )


def import_transformers() -> Any:
    import_torch("Running a Hugging Face model", extra="hf")
    try:
        import transformers
    except ImportError as exc:
        raise MissingExtraError("transformers", "hf", "Running a Hugging Face model") from exc
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers


class HFEngine:
    """``__call__(batch) -> {"output": array}`` for a Hugging Face vision model."""

    def __init__(self, path: str, spec: ModelSpec) -> None:
        transformers = import_transformers()
        torch = import_torch("Running a Hugging Face model", extra="hf")
        torch.set_num_threads(spec.threads)
        self.torch = torch
        self.output_name = spec.output_name or CLASSIFY_OUTPUT
        self.dual = model_type(path) in DUAL_ENCODERS
        if self.dual and self.output_name == CLASSIFY_OUTPUT:
            raise ModelError(
                f"{path} is an image-text model ({model_type(path)}): it classifies into the "
                "labels you give (`labels`), by their text embeddings, or embeds images")
        auto = (transformers.AutoModelForImageClassification
                if self.output_name == CLASSIFY_OUTPUT else transformers.AutoModel)
        try:
            model, info = auto.from_pretrained(path, local_files_only=True,
                                               trust_remote_code=False, output_loading_info=True)
        except Exception as exc:
            raise ModelError(
                f"transformers could not load {path} as {auto.__name__}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        # A classification checkpoint has no trained pooler: its freshly initialised one
        # would give random vectors, so the mean of the last hidden state is used instead.
        self.trained_pooler = not any(
            key.split(".")[0] == "pooler" for key in info.get("missing_keys", ()))
        if self.dual:  # only the image tower runs here: the text tower's memory is freed
            for name in ("text_model", "text_projection"):
                if isinstance(getattr(model, name, None), torch.nn.Module):
                    setattr(model, name, None)
        self.device = torch_device(spec.device)
        self.dtype = torch_dtype(spec.precision)
        self.model = model.eval().to(self.device, self.dtype)

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        torch = self.torch
        x = torch.from_numpy(batch).to(self.device, self.dtype)
        if self.dual:
            return {"output": self.image_embeddings(x)}
        with torch.inference_mode():
            out = self.model(pixel_values=x)
        value = out.get(self.output_name) if hasattr(out, "get") else None
        if self.output_name == EMBED_OUTPUT and not self.trained_pooler:
            value = None
        if value is None and self.output_name == EMBED_OUTPUT:
            hidden = out["last_hidden_state"]
            value = hidden.mean(dim=1) if hidden.dim() == 3 else hidden.mean(dim=(2, 3))
        if value is None:
            raise ModelError(
                f"the model's output has no {self.output_name!r}; it has "
                f"{', '.join(k for k, v in out.items() if v is not None)}"
            )
        return {"output": value.detach().float().cpu().numpy()}

    def image_embeddings(self, x: Any) -> np.ndarray:
        """The image tower's projected vectors, L2-normalised, as the model's own
        image-text logits use them."""
        with self.torch.inference_mode():
            out = self.model.get_image_features(pixel_values=x)
        # transformers 5 returns the model output (projected vectors as its pooler_output),
        # older versions the tensor itself
        value = getattr(out, "pooler_output", out).float()
        value = value / value.norm(p=2, dim=-1, keepdim=True)
        return value.cpu().numpy()


def load(path: str, spec: ModelSpec) -> HFEngine:
    return HFEngine(path, spec)


def inspect(engine: HFEngine, path: str, spec: ModelSpec) -> dict[str, Any]:
    """Preprocessing and labels from the folder's config files (see module docstring)."""
    facts = processor_facts(processor_config(path), path)
    config = _read_json(path, "config.json") or {}
    id2label = config.get("id2label") or {}
    if engine.output_name == CLASSIFY_OUTPUT and id2label:
        facts["labels"] = tuple(str(id2label[k]) for k in sorted(id2label, key=int))
        facts["output"] = "softmax"
    return facts


def processor_config(path: str) -> dict[str, Any] | None:
    """The folder's image processor config, completed with its class's defaults by
    transformers where it can load the processor (else the file as written)."""
    raw = _read_json(path, "preprocessor_config.json")
    if raw is None:  # a whole processor saved: its image processor is one section
        section = (_read_json(path, "processor_config.json") or {}).get("image_processor")
        raw = section if isinstance(section, dict) else None
    if raw is None:
        return None
    try:
        proc = import_transformers().AutoImageProcessor.from_pretrained(
            path, local_files_only=True, trust_remote_code=False)
        full = proc.to_dict()
    except Exception:  # noqa: BLE001 - the file itself still says most of it
        return raw
    return full if isinstance(full, dict) else raw


def processor_facts(proc: dict[str, Any] | None, where: str) -> dict[str, Any]:
    """Card keys from an image processor's config.

    >>> processor_facts({"size": {"shortest_edge": 256}, "crop_size": {"height": 224,
    ...     "width": 224}, "do_center_crop": True, "resample": 3}, "m")["resize"]
    256
    """
    if not proc:
        return {"layout": "nchw"}
    facts: dict[str, Any] = {"layout": "nchw", **_geometry(proc, where)}
    facts["scale"] = float(proc.get("rescale_factor", 1 / 255)) if proc.get(
        "do_rescale", True) else 1.0
    if proc.get("do_normalize", True) and proc.get("image_mean") is not None:
        facts["mean"] = _triple(proc["image_mean"])
        facts["std"] = _triple(proc["image_std"])
    else:
        facts["mean"], facts["std"] = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    resample = proc.get("resample", 2)
    if resample not in _RESAMPLE:
        raise ModelError(
            f"{where}: the image processor resamples with PIL filter {resample!r}; expected "
            "one of PIL's codes 0-5 (nearest, lanczos, bilinear, bicubic, box, hamming). Set "
            "interpolation= in a model card to choose one"
        )
    facts["interpolation"] = _RESAMPLE[resample]
    return facts


def _geometry(proc: dict[str, Any], where: str) -> dict[str, Any]:
    size = proc.get("size")
    if isinstance(size, int):
        size = {"height": size, "width": size}
    size = size or {}
    if "shortest_edge" in size:
        edge = int(size["shortest_edge"])
        crop = proc.get("crop_size")
        if proc.get("do_center_crop", True) and crop:
            crop = {"height": crop, "width": crop} if isinstance(crop, int) else crop
            return {"image_size": _square(crop, where), "resize": edge, "crop": "center"}
        pct = proc.get("crop_pct")
        if pct and edge < 384:
            return {"image_size": edge, "resize": int(edge / pct), "crop": "center"}
        return {"image_size": edge, "resize": edge, "crop": "none"}
    if "height" in size:
        side = _square(size, where)
        crop = proc.get("crop_size")
        crop = {"height": crop, "width": crop} if isinstance(crop, int) else crop
        if proc.get("do_center_crop") and crop and _square(crop, where) < side:
            # DeiT-style: squash to side x side, then crop; the nearest sparkvision has is
            # the shorter side to ``side`` and the same crop (equal on square images)
            return {"image_size": _square(crop, where), "resize": side, "crop": "center"}
        return {"image_size": side, "resize": side, "crop": "none"}
    raise ModelError(f"{where}: cannot read the image size from the processor config {size!r}")


def _triple(value: Any) -> tuple[float, float, float]:
    values = [float(v) for v in value] if isinstance(value, (list, tuple)) else [float(value)]
    return (values[0],) * 3 if len(values) == 1 else (values[0], values[1], values[2])


def _square(size: dict[str, Any], where: str) -> int:
    if int(size["height"]) != int(size["width"]):
        raise ModelError(
            f"{where}: the model takes {size['height']}x{size['width']} images; sparkvision "
            "feeds square images"
        )
    return int(size["height"])


def _read_json(path: str, name: str) -> dict[str, Any] | None:
    full = os.path.join(path, name)
    if not os.path.isfile(full):
        return None
    try:
        with open(full, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ModelError(f"could not read {full}: {exc}") from None
    return data if isinstance(data, dict) else None
