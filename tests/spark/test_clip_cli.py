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


def test_embed_with_clip_writes_unit_vectors(spark, setup):
    root, folder, photos, paths, _ = setup
    out = str(root / "vectors")
    result = run_cli(["embed", photos, "--model", folder, "--out", out, "--quiet"],
                     in_process=True)
    assert result.rc == 0, result.output
    vectors = np.stack(pd.read_parquet(out)["embedding"].to_list())
    assert vectors.shape == (len(paths), 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_labels_on_a_clip_embed_and_no_labels_on_classify_are_refused(spark, setup):
    root, folder, photos, _, _ = setup
    missing = run_cli(["classify", photos, "--model", folder, "--out", str(root / "x")],
                      in_process=True)
    assert missing.rc == 2 and "--labels" in missing.stderr, missing.output
    prompt = run_cli(["classify", photos, "--prompt", "a {}", "--out", str(root / "y")],
                     in_process=True)
    assert prompt.rc == 2 and "--prompt is for zero-shot labels" in prompt.stderr, prompt.output
