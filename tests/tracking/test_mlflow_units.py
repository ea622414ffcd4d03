"""The MLflow pieces that need neither a server nor Spark: the install hint, the packaged
model folder and its reference, per-class figures, the confusion picture."""

from __future__ import annotations

import json
import os
import sys

import pytest

from sparkvision.errors import ConfigError, MissingExtraError, ModelError
from sparkvision.models.logged import (
    check_server,
    is_model_uri,
    logged_folder,
    logged_reference,
    package,
    require_mlflow,
)


def test_without_mlflow_the_error_is_one_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingExtraError) as err:
        require_mlflow("--mlflow")
    assert str(err.value).endswith("Install it with: pip install 'sparkvision[mlflow]'")


def test_model_uris_are_told_from_paths_and_names():
    for uri in ("models:/pets/1", "models:/pets@champion", "runs:/abc/model"):
        assert is_model_uri(uri)
    for other in ("catdog", "model.onnx", "s3://bucket/model.onnx", None):
        assert not is_model_uri(other)


def test_a_builtin_model_is_packaged_as_its_name(tmp_path):
    logged = package("CatDog", str(tmp_path), task="classify")
    assert logged.kind == "builtin" and os.listdir(tmp_path) == ["sparkvision.json"]
    assert logged_reference(str(tmp_path)) == ("catdog", logged)


def test_a_model_file_is_copied_with_its_card_keys(tmp_path):
    source = tmp_path / "src" / "net.onnx"
    source.parent.mkdir()
    source.write_bytes(b"onnx bytes")
    folder = tmp_path / "pkg"
    folder.mkdir()
    package(str(source), str(folder), task="classify",
            options={"labels": ("a", "b"), "image_size": 64})
    ref, logged = logged_reference(str(folder))
    assert ref == str(folder / "net.onnx") and (folder / "net.onnx").read_bytes() == b"onnx bytes"
    assert logged.options == {"labels": ["a", "b"], "image_size": 64}


def test_a_trained_folder_takes_its_backbone_file_along(tmp_path):
    backbone = tmp_path / "backbone.onnx"
    backbone.write_bytes(b"weights")
    trained = tmp_path / "pets-model"
    trained.mkdir()
    for name in ("card.toml", "head.npz", "report.json"):
        (trained / name).write_text("x")
    (trained / "features").mkdir()
    (trained / "backbone.json").write_text(json.dumps(
        {"model": str(backbone), "sha256": "s", "engine": "auto", "options": {}}))
    folder = tmp_path / "pkg"
    folder.mkdir()
    package(str(trained), str(folder), task="classify")
    ref, logged = logged_reference(str(folder))
    assert logged.kind == "trained" and ref == str(folder / "pets-model")
    assert sorted(os.listdir(ref)) == ["backbone", "backbone.json", "card.toml", "head.npz",
                                       "report.json"]
    with open(os.path.join(ref, "backbone.json"), encoding="utf-8") as fh:
        assert json.load(fh)["model"] == "backbone/backbone.onnx"  # inside the folder
    with pytest.raises(ConfigError, match="drop the model options"):
        package(str(trained), str(tmp_path), task="classify", options={"image_size": 64})


def test_code_is_not_packaged(tmp_path):
    with pytest.raises(ConfigError, match="Save the model to a file"):
        package(len, str(tmp_path), task="classify")
    with pytest.raises(ModelError, match="not a built-in model, a file or a folder"):
        package("no/such/file.onnx", str(tmp_path), task="classify")


def test_a_downloaded_model_without_the_marker_is_refused_by_flavor(tmp_path):
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  sklearn: {}\n  python_function: {loader_module: mlflow.sklearn}\n")
    with pytest.raises(ModelError, match="flavor sklearn, python_function, not one logged by"):
        logged_folder(str(tmp_path), "models:/iris/1")


def test_a_closed_port_is_named_at_once():
    with pytest.raises(ModelError, match=r"http://127.0.0.1:9 did not answer"):
        check_server("http://127.0.0.1:9", "models:/pets/1")
    check_server("sqlite:///x.db", "models:/pets/1")  # no server to ask


def test_per_class_precision_and_recall_and_the_confusion_picture():
    pytest.importorskip("mlflow", reason="needs the mlflow extra")
    from sparkvision.mlflow.tracking import confusion_image, per_class

    confusion = {"cat": {"cat": 3, "dog": 1}, "dog": {"dog": 2}}
    assert per_class(confusion, "cv") == {
        "cv_precision_cat": 1.0, "cv_recall_cat": 0.75,
        "cv_precision_dog": 2 / 3, "cv_recall_dog": 1.0}
    image = confusion_image(confusion, "cv")
    assert image.size[0] > 100 and image.size[1] > 100
