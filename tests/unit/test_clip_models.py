"""CLIP folders (CLIPModel + CLIPProcessor saved by transformers 5): zero-shot labels equal
transformers' zero-shot-image-classification pipeline, embeddings equal the normalised
get_image_features.

The tiny random CLIP is written by tests/helpers/tiny_clip.py (nothing is downloaded); the
pictures are drawn PNGs, one of them 2300 px wide, so sparkvision's decode and the
pipeline's see the same pixels.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from helpers.drawing import drawn_image, write_images
from helpers.extras import need
from helpers.tiny_clip import IMAGE_SIZE, write_tiny_clip, write_tiny_siglip
from sparkvision.errors import ConfigError
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model
from sparkvision.models.clip import DEFAULT_PROMPT

need("torch", "hf")
transformers = need("transformers", "hf")

LABELS = ["cat", "dog", "red car", "a bowl of soup"]


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    return write_tiny_clip(tmp_path_factory.mktemp("hf") / "tiny-clip", seed=3)


@pytest.fixture(scope="module")
def pngs(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip-images")
    paths = write_images(str(root), ["wide.png", "tall.png"], size=(90, 60), seed=7)
    paths += write_images(str(root), ["small.png"], size=(40, 50), seed=9)
    big = os.path.join(root, "big.png")
    drawn_image(11, (2300, 1500)).save(big)
    return [*paths, big]


def _pipeline(task, folder):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the PIL image processor warns that torchvision is absent
        return transformers.pipeline(task, model=folder)


def _check_against_pipeline(spec, paths, folder, labels, template):
    ours = predict_frame(paths, spec, batch_size=3)
    assert ours["error"].isna().all(), ours["error"].tolist()
    pipe = _pipeline("zero-shot-image-classification", folder)
    for path, label, score, scores in zip(paths, ours["label"], ours["score"], ours["scores"],
                                          strict=True):
        theirs = pipe(path, candidate_labels=list(labels), hypothesis_template=template)
        by_label = {d["label"]: d["score"] for d in theirs}
        np.testing.assert_allclose(scores, [by_label[name] for name in labels], atol=1e-4)
        assert label == theirs[0]["label"]
        assert score == pytest.approx(theirs[0]["score"], abs=1e-4)


def test_zero_shot_labels_equal_the_pipeline(clip_folder, pngs):
    spec = resolve_model(clip_folder, labels=",".join(LABELS))
    assert (spec.format, spec.head, spec.labels) == ("trained", "softmax", tuple(LABELS))
    assert spec.backbone is not None and spec.backbone.head == "embedding"
    _check_against_pipeline(spec, pngs, clip_folder, LABELS, DEFAULT_PROMPT)


def test_a_prompt_and_a_labels_file(clip_folder, pngs, tmp_path):
    labels = ["a cat, sitting", "dog", "red car"]  # a comma: only a file can say it
    listed = tmp_path / "labels.txt"
    listed.write_text("\n".join(labels) + "\n\n", encoding="utf-8")
    template = "a blurry picture of {}"
    spec = resolve_model(clip_folder, labels_file=str(listed), prompt=template)
    assert spec.labels == tuple(labels)
    _check_against_pipeline(spec, pngs[:2], clip_folder, labels, template)
    again = resolve_model(clip_folder, labels=labels, prompt=template)
    assert again.artifact == spec.artifact  # the label embeddings are made once, then cached


def test_embed_writes_the_normalised_image_features(clip_folder, pngs):
    spec = resolve_model(clip_folder, task="embed")
    pre = spec.preprocess
    # read from processor_config.json: the folder has no preprocessor_config.json
    assert not os.path.exists(os.path.join(clip_folder, "preprocessor_config.json"))
    assert (pre.size, pre.resize, pre.crop, pre.interpolation) == (
        IMAGE_SIZE, IMAGE_SIZE, "center", "bicubic")
    _check_embeddings(spec, pngs, clip_folder)


def _check_embeddings(spec, paths, folder):
    import torch
    from PIL import Image

    ours = predict_frame(paths, spec, batch_size=2)
    model = transformers.AutoModel.from_pretrained(folder).eval()
    processor = transformers.AutoProcessor.from_pretrained(folder)
    for path, vector in zip(paths, ours["embedding"], strict=True):
        pixels = processor(images=Image.open(path).convert("RGB"),
                           return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            out = model.get_image_features(pixel_values=pixels)
        theirs = getattr(out, "pooler_output", out)[0].numpy()
        assert vector.shape == theirs.shape
        np.testing.assert_allclose(vector, theirs / np.linalg.norm(theirs), atol=1e-4)


def test_siglip_scores_each_label_by_its_sigmoid(tmp_path, pngs):
    folder = write_tiny_siglip(tmp_path / "tiny-siglip", seed=5)
    spec = resolve_model(folder, labels=LABELS[:3])
    assert spec.head == "sigmoid" and spec.backbone.preprocess.crop == "none"
    _check_against_pipeline(spec, pngs[2:], folder, LABELS[:3], DEFAULT_PROMPT)
    _check_embeddings(resolve_model(folder, task="embed"), pngs[2:], folder)


def test_what_zero_shot_refuses(clip_folder, tmp_path):
    with pytest.raises(ConfigError, match=r"CLIP model.*Pass `labels`"):
        resolve_model(clip_folder)
    with pytest.raises(ConfigError, match=r"`prompt` is for zero-shot labels.*catdog"):
        resolve_model("catdog", prompt="a photo of {}")
    with pytest.raises(ConfigError, match=r"no \{\} for the label"):
        resolve_model(clip_folder, labels="cat,dog", prompt="a photo")
    with pytest.raises(ConfigError, match=r"name dog more than once"):
        resolve_model(clip_folder, labels="cat,dog,dog")
    with pytest.raises(ConfigError, match=r"embed writes the image embedding"):
        resolve_model(clip_folder, task="embed", prompt="a photo of {}")
    with pytest.raises(ConfigError, match=r"drop `threshold`"):
        resolve_model(clip_folder, labels="cat,dog", threshold=0.3)
    empty = tmp_path / "none.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"holds no label"):
        resolve_model(clip_folder, labels_file=str(empty))
