"""`classify --model CLIP_DIR --labels-file FILE --prompt ...` and `embed --model CLIP_DIR`
on Spark, through the command line: the labels and scores transformers'
zero-shot-image-classification pipeline gives, and unit-length image embeddings.

Six drawn photos and a tiny random CLIP (tests/helpers/tiny_clip.py); the comparisons on
more photos, a 2300 px one among them, are in tests/unit/test_clip_models.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.cli import run_cli
from helpers.drawing import write_images
from helpers.extras import need
from helpers.tiny_clip import write_tiny_clip

pytestmark = [pytest.mark.spark, pytest.mark.timeout(300)]

transformers = need("transformers", "hf")
need("torch", "hf")

LABELS = ["cat", "dog", "red car, parked"]  # a comma: the labels come from a file
TEMPLATE = "a photo of a {}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip-cli")
    folder = write_tiny_clip(root / "tiny-clip", seed=4)
    photos = root / "photos"
    paths = write_images(str(photos), [f"p{i}.png" for i in range(5)], size=(120, 80))
    paths += write_images(str(photos), ["large.png"], size=(1200, 900), seed=20)
    labels = root / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    return root, folder, str(photos), paths, str(labels)


def test_classify_with_clip_labels_equals_the_pipeline(spark, setup):
    root, folder, photos, paths, labels = setup
    out = str(root / "labels_out")
    result = run_cli(["classify", photos, "--model", folder, "--labels-file", labels,
                      "--prompt", TEMPLATE, "--out", out, "--quiet"], in_process=True)
    assert result.rc == 0, result.output
    ours = pd.read_parquet(out).set_index("path")
    assert len(ours) == len(paths) and ours["error"].isna().all()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = transformers.pipeline("zero-shot-image-classification", model=folder)
    for path in paths:
        theirs = pipe(path, candidate_labels=LABELS, hypothesis_template=TEMPLATE)
        row = ours.loc[path]
        assert row["label"] == theirs[0]["label"]
        assert row["score"] == pytest.approx(theirs[0]["score"], abs=1e-4)


@pytest.fixture(scope="module")
def clip_vectors(spark, setup):
    root, folder, photos, _, _ = setup
    out = str(root / "vectors")
    result = run_cli(["embed", photos, "--model", folder, "--out", out, "--quiet"],
                     in_process=True)
    assert result.rc == 0, result.output
    return out


def test_embed_with_clip_writes_unit_vectors(setup, clip_vectors):
    paths = setup[3]
    vectors = np.stack(pd.read_parquet(clip_vectors)["embedding"].to_list())
    assert vectors.shape == (len(paths), 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_search_by_words_ranks_as_transformers_features_do(setup, clip_vectors):
    """`search --text`: the K photos, best first, with the cosine similarities of
    get_text_features and get_image_features (the model recorded by embed is used)."""
    import torch
    from PIL import Image

    root, folder, _, paths, _ = setup
    sentence = "a dog on a beach"
    out = str(root / "words")
    result = run_cli(["search", clip_vectors, "--text", sentence, "--top", "3", "--out", out,
                      "--report", str(root / "words.html")], in_process=True)
    assert result.rc == 0, result.output
    hits = pd.read_parquet(out).sort_values("rank")
    assert list(hits["query"]) == [sentence] * 3 and list(hits["rank"]) == [1, 2, 3]

    model = transformers.AutoModel.from_pretrained(folder).eval()
    processor = transformers.AutoProcessor.from_pretrained(folder)
    with torch.inference_mode():
        image = model.get_image_features(**processor(
            images=[Image.open(p).convert("RGB") for p in paths], return_tensors="pt"))
        text = model.get_text_features(**processor(text=[sentence], return_tensors="pt",
                                                   padding=True))
    image = getattr(image, "pooler_output", image)
    text = getattr(text, "pooler_output", text)
    cosine = torch.nn.functional.cosine_similarity(image, text).numpy()
    order = np.argsort(-cosine, kind="stable")[:3]
    assert list(hits["path"]) == [paths[i] for i in order]
    np.testing.assert_allclose(hits["similarity"], cosine[order], atol=1e-4)
    page = (root / "words.html").read_text(encoding="utf-8")
    assert "&ldquo;a dog on a beach&rdquo;" in page


def test_labels_on_a_clip_embed_and_no_labels_on_classify_are_refused(spark, setup):
    root, folder, photos, _, _ = setup
    missing = run_cli(["classify", photos, "--model", folder, "--out", str(root / "x")],
                      in_process=True)
    assert missing.rc == 2 and "--labels" in missing.stderr, missing.output
    prompt = run_cli(["classify", photos, "--prompt", "a {}", "--out", str(root / "y")],
                     in_process=True)
    assert prompt.rc == 2 and "--prompt is for zero-shot labels" in prompt.stderr, prompt.output
