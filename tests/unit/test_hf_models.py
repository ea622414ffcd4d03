"""Hugging Face folders (save_pretrained) give what transformers' own pipelines give.

Tiny randomly initialised ViTs are written by the test (nothing is downloaded); the
images are PNGs, so sparkvision's decode and the pipeline's see the same pixels.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers.drawing import write_images
from helpers.extras import need
from sparkvision.errors import ConfigError, ModelError
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model
from sparkvision.models.loaders.hf_loader import processor_facts

need("torch", "hf")
transformers = need("transformers", "hf")

LABELS = {0: "red", 1: "green", 2: "blue"}


def _config():
    return transformers.ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=37, num_labels=3, id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()})


@pytest.fixture(scope="module")
def vit_folder(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("hf") / "tiny-vit"
    transformers.ViTForImageClassification(_config()).save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def pngs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf-images")
    return write_images(str(root), [f"img.{i}.png" for i in range(5)], size=(70, 50))


def _pipeline(task, folder):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the PIL image processor warns that torchvision is absent
        return transformers.pipeline(task, model=folder)


def test_classification_equals_the_transformers_pipeline(vit_folder, pngs):
    spec = resolve_model(vit_folder)
    assert (spec.format, spec.engine, spec.head) == ("hf", "torch", "softmax")
    assert spec.labels == ("red", "green", "blue") and spec.preprocess.size == 32
    ours = predict_frame(pngs, spec, batch_size=2)
    assert ours["error"].isna().all()
    pipe = _pipeline("image-classification", vit_folder)
    for path, label, scores in zip(pngs, ours["label"], ours["scores"], strict=True):
        theirs = {d["label"]: d["score"] for d in pipe(path, top_k=3)}
        expected = np.array([theirs[name] for name in spec.labels])
        np.testing.assert_allclose(scores, expected, atol=1e-4)
        assert label == max(theirs, key=theirs.get)


@pytest.fixture(scope="module")
def features_folder(tmp_path_factory):
    import torch

    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("hf") / "tiny-vit-features"
    transformers.ViTModel(_config()).save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return str(folder)


def test_embedding_equals_the_feature_extraction_pipeline(features_folder, pngs):
    spec = resolve_model(features_folder, task="embed")
    assert spec.head == "embedding" and spec.output_name == "pooler_output" and not spec.labels
    ours = predict_frame(pngs, spec, batch_size=3)
    pipe = _pipeline("image-feature-extraction", features_folder)
    for path, vector in zip(pngs, ours["embedding"], strict=True):
        theirs = np.asarray(pipe(path, pool=True), dtype=np.float32).reshape(-1)
        assert vector.shape == (32,)
        np.testing.assert_allclose(vector, theirs, atol=1e-4)


def test_a_classification_checkpoint_embeds_its_mean_hidden_state(vit_folder, pngs):
    """Its pooler was never trained (transformers initialises it at random), so the
    vector is the mean of the last hidden state, the same on every load."""
    ours = predict_frame(pngs, resolve_model(vit_folder, task="embed"), batch_size=5)
    pipe = _pipeline("image-feature-extraction", vit_folder)
    for path, vector in zip(pngs, ours["embedding"], strict=True):
        hidden = np.asarray(pipe(path), dtype=np.float32)[0]  # (tokens, hidden)
        np.testing.assert_allclose(vector, hidden.mean(axis=0), atol=1e-4)


def test_processor_configs_map_to_preprocessing():
    convnext = processor_facts({"size": {"shortest_edge": 224}, "crop_pct": 0.875,
                                "image_mean": [0.5] * 3, "image_std": [0.25] * 3,
                                "resample": 3, "rescale_factor": 1 / 255}, "m")
    assert (convnext["image_size"], convnext["resize"], convnext["crop"]) == (224, 256, "center")
    assert convnext["interpolation"] == "bicubic" and convnext["std"] == (0.25,) * 3
    raw = processor_facts({"size": 64, "do_normalize": False, "do_rescale": False}, "m")
    assert (raw["crop"], raw["scale"], raw["mean"]) == ("none", 1.0, (0.0, 0.0, 0.0))


def test_card_keys_override_the_folder_and_bad_labels_are_refused(vit_folder):
    spec = resolve_model(vit_folder, interpolation="bicubic", labels=["a", "b", "c"])
    assert spec.preprocess.interpolation == "bicubic" and spec.labels == ("a", "b", "c")
    with pytest.raises(ModelError, match=r"failed on a blank NCHW image of 48x48.*`image_size`"):
        resolve_model(vit_folder, image_size=48)
    with pytest.raises(ConfigError, match=r"2 labels given .* 3 outputs"):
        resolve_model(vit_folder, labels=["a", "b"])
