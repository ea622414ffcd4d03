import pytest

import sparkvision


def test_all_is_sorted_and_is_the_public_surface():
    assert list(sparkvision.__all__) == sorted(sparkvision.__all__)
    public = {n for n in dir(sparkvision) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(sparkvision, n)).__name__ == "module"}
    assert public - modules == set(sparkvision.__all__) - {"__version__"}


def test_builtin_models_listed():
    assert {"catdog", "imagenet", "embedding"} <= set(sparkvision.list_models())


def test_train_with_label_from_needs_paths(tmp_path):
    with pytest.raises(sparkvision.ConfigError, match="label_from= reads the labels from file"):
        sparkvision.train(42, label_from="folder", out=str(tmp_path / "model"))
    assert not (tmp_path / "model").exists()
