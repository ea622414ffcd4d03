"""Zero-shot labels for CLIP-family folders: each label's text embedded once, here.

A CLIP model (``CLIPModel``, or ``SiglipModel``, saved with ``save_pretrained``) scores an
image against texts: ``logits = exp(logit_scale) * image_n @ text_n.T (+ logit_bias)``,
both vectors L2-normalised. With the label texts fixed, that is a linear head on the
image embedding: ``weights = exp(logit_scale) * text_n`` (one row per label), ``bias`` 0
(SigLIP: ``logit_bias``). So ``classify --model CLIP_DIR --labels "cat,dog"`` becomes a
classifier of the kind ``sparkvision train`` writes (:mod:`.trained`): its backbone is
the folder's image tower (``embed``, :mod:`.loaders.hf_loader`), its head those rows,
written once into the cache folder (keyed by the model's files, the labels, the prompt
and the image options) and shipped to the workers as a trained head is.

Each label is put into ``prompt`` (default ``"This is a photo of {}."``) and tokenized
with the folder's tokenizer as transformers' ``zero-shot-image-classification`` pipeline
does (SigLIP: padded to 64 tokens); ``label`` is then the best label and ``score`` its
softmax probability over the labels (SigLIP: its sigmoid), as the pipeline gives them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sparkvision.config import cache_dir
from sparkvision.errors import ConfigError, ModelError
from sparkvision.models.card import normalize, read_card
from sparkvision.models.loaders.hf_loader import DUAL_ENCODERS, import_transformers, model_type
from sparkvision.models.trained import BACKBONE, CARD, HEAD
from sparkvision.storage.files import file_sha256

DEFAULT_PROMPT = "This is a photo of {}."
#: model options that only zero-shot classification reads (not model-card keys)
ZERO_SHOT_OPTIONS = ("labels_file", "prompt")
#: card keys that say how to read a network's own outputs: a zero-shot head has none
_HEAD_KEYS = ("format", "arch", "output", "output_name", "threshold", "from_logits")
_TEXTS_PER_CALL = 256
_VERSION = 2  # of the cached folder's layout


def zero_shot_model(model: Any, task: str, model_config: Any,
                    options: Mapping[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """``(model, model_config, options)`` to resolve: for ``classify`` on a CLIP-family
    folder, the cached classifier folder made from its labels (see module docstring) with
    no options left; otherwise the same, ``labels_file`` read into ``labels``."""
    options = dict(options)
    extra = {k: options.pop(k) for k in ZERO_SHOT_OPTIONS if options.get(k) is not None}
    for key in ZERO_SHOT_OPTIONS:
        options.pop(key, None)
    kind = model_type(model) if isinstance(model, (str, os.PathLike)) else None
    if "labels_file" in extra:
        if options.get("labels") is not None:
            raise ConfigError("`labels` and `labels_file` both give the labels: pass one")
        options["labels"] = read_labels_file(os.fspath(extra["labels_file"]))
    if kind not in DUAL_ENCODERS:
        if "prompt" in extra:
            raise ConfigError(
                f"`prompt` is for zero-shot labels with a CLIP model folder (CLIPModel or "
                f"SiglipModel saved with save_pretrained); {_name(model)} is not one: drop "
                "`prompt`")
        return model, model_config, options
    if task != "classify":
        if extra or options.get("labels") is not None:
            raise ConfigError(
                "`labels`, `labels_file` and `prompt` choose among labels on classify; embed "
                "writes the image embedding: drop them")
        return model, model_config, options
    folder = os.path.abspath(os.fspath(model))
    said = {**_card(model_config), **normalize(options, where="model options")}
    labels = tuple(said.pop("labels", ()))
    if not labels:
        raise ConfigError(
            f"{_name(model)} is a CLIP model ({kind}): it classifies into the labels you give. "
            "Pass `labels` (e.g. \"cat,dog,red car\") or `labels_file`, or embed")
    head_keys = sorted(set(said) & set(_HEAD_KEYS))
    if head_keys:
        raise ConfigError(
            f"{_name(model)} classifies by its labels' text embeddings (softmax over the "
            f"labels); drop {', '.join(f'`{k}`' for k in head_keys)}")
    prompt = str(extra.get("prompt", DEFAULT_PROMPT))
    return classifier_folder(folder, kind, labels, prompt, said), None, {}


def read_labels_file(path: str) -> tuple[str, ...]:
    """The labels in a text file, one a line (blank lines skipped)."""
    try:
        with open(path, encoding="utf-8") as fh:
            labels = tuple(line.strip() for line in fh if line.strip())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"`labels_file` {path}: cannot read it: {exc}") from None
    if not labels:
        raise ConfigError(f"`labels_file` {path} holds no label (one a line)")
    return labels


def classifier_folder(folder: str, kind: str, labels: Sequence[str], prompt: str,
                      image_options: Mapping[str, Any]) -> str:
    """The cached classifier folder of ``folder`` for ``labels`` (built once)."""
    texts = label_texts(labels, prompt)
    sha = file_sha256(folder)
    key = hashlib.sha256(json.dumps(
        [_VERSION, sha, list(labels), prompt, dict(image_options)], sort_keys=True,
        default=str).encode()).hexdigest()[:20]
    out = os.path.join(cache_dir(), "zero-shot", key, os.path.basename(folder))
    if all(os.path.isfile(os.path.join(out, name)) for name in (CARD, HEAD, BACKBONE)):
        return out
    weights, bias = text_head(folder, kind, texts)
    tmp = f"{out}.tmp-{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    np.savez(os.path.join(tmp, HEAD), weights=weights, bias=bias)
    output = "sigmoid" if kind == "siglip" else "softmax"  # as the pipeline scores them
    with open(os.path.join(tmp, CARD), "w", encoding="utf-8") as fh:
        fh.write('# zero-shot labels by their text embeddings, written by sparkvision\n'
                 f'format = "trained"\noutput = "{output}"\n'
                 f"labels = [{', '.join(_toml(label) for label in labels)}]\n")
    with open(os.path.join(tmp, BACKBONE), "w", encoding="utf-8") as fh:
        json.dump({"model": folder, "sha256": sha, "engine": "auto",
                   "options": dict(image_options)}, fh, indent=2)
    try:
        os.replace(tmp, out)
    except OSError:  # another process wrote it first
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.isfile(os.path.join(out, BACKBONE)):
            raise
    return out


def label_texts(labels: Sequence[str], prompt: str) -> list[str]:
    """Each label put into ``prompt`` as the pipeline does (``prompt.format(label)``)."""
    if len(set(labels)) != len(labels):
        twice = sorted({label for label in labels if labels.count(label) > 1})
        raise ConfigError(f"`labels` name {', '.join(twice)} more than once")
    if any(ord(c) < 32 or ord(c) == 127 for label in labels for c in label):
        raise ConfigError("`labels` may not hold control characters")
    try:
        texts = [prompt.format(label) for label in labels]
    except (IndexError, KeyError, ValueError) as exc:
        raise ConfigError(
            f"`prompt` {prompt!r}: {exc}; write {{}} where the label goes (and {{{{ }}}} for a "
            "brace)") from None
    if len(labels) > 1 and len(set(texts)) == 1:
        raise ConfigError(f"`prompt` {prompt!r} has no {{}} for the label: every label "
                          "would read the same")
    return texts


def text_head(folder: str, kind: str, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(weights, bias)``: the texts' normalised embeddings times the logit scale, and the
    logit bias (0 for CLIP), float32."""
    text, model = _text_embeddings(folder, kind, texts)
    weights = text * float(model.logit_scale.detach().float().exp())
    bias = getattr(model, "logit_bias", None)
    bias = (np.zeros(len(texts), dtype=np.float32) if bias is None
            else np.full(len(texts), float(bias.detach().float().reshape(-1)[0]),
                         dtype=np.float32))
    return weights.astype(np.float32), bias


def text_vectors(model: str | os.PathLike[str], texts: Sequence[str]) -> np.ndarray:
    """The L2-normalised text embeddings of ``texts`` (float32, one row each) by the CLIP
    folder ``model``: the space its image embeddings (``embed``) live in, so a text and a
    photo compare by cosine similarity as ``get_text_features`` and
    ``get_image_features`` do."""
    kind = model_type(model)
    if kind not in DUAL_ENCODERS:
        raise ConfigError(
            f"searching by text needs a model that embeds texts and photos alike, a CLIP "
            f"model folder (CLIPModel or SiglipModel saved with save_pretrained); "
            f"{_name(model)} is not one. Embed the photos with a CLIP folder "
            "(`sparkvision embed PHOTOS --model CLIP_DIR`) and search those vectors")
    if not texts or any(not str(t).strip() for t in texts):
        raise ConfigError("`text` must be one or more non-empty sentences")
    return _text_embeddings(os.path.abspath(os.fspath(model)), kind, texts)[0]


def _text_embeddings(folder: str, kind: str, texts: Sequence[str]) -> tuple[np.ndarray, Any]:
    """The normalised text embeddings (float32 rows) and the loaded model."""
    transformers = import_transformers()
    import torch

    try:
        model = transformers.AutoModel.from_pretrained(
            folder, local_files_only=True, trust_remote_code=False).eval()
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            folder, local_files_only=True, trust_remote_code=False)
    except Exception as exc:
        raise ModelError(f"transformers could not load the model and tokenizer of {folder}: "
                         f"{type(exc).__name__}: {exc}") from exc
    if kind == "siglip":  # as the pipeline pads SigLIP's texts
        padding: dict[str, Any] = {"padding": "max_length", "max_length": 64,
                                   "truncation": True}
    else:
        padding = {"padding": True, "truncation": True,
                   "max_length": model.config.text_config.max_position_embeddings}
    rows = []
    with torch.inference_mode():
        for start in range(0, len(texts), _TEXTS_PER_CALL):
            tokens = tokenizer(list(texts[start:start + _TEXTS_PER_CALL]),
                               return_tensors="pt", **padding)
            inputs = {k: tokens[k] for k in ("input_ids", "attention_mask") if k in tokens}
            out = model.get_text_features(**inputs)
            rows.append(getattr(out, "pooler_output", out).float())
        text = torch.cat(rows)
        text = text / text.norm(p=2, dim=-1, keepdim=True)
    return text.detach().cpu().numpy().astype(np.float32), model


def _card(model_config: Any) -> dict[str, Any]:
    if model_config is None:
        return {}
    if isinstance(model_config, Mapping):
        return normalize(model_config, where="model_config")
    return read_card(os.fspath(model_config))


def _toml(text: str) -> str:
    """``text`` as a TOML basic string (no control characters, see label_texts)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _name(model: Any) -> str:
    return os.path.basename(os.path.abspath(os.fspath(model))) if isinstance(
        model, (str, os.PathLike)) else type(model).__name__
