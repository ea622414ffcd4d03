import sparkvision


def test_all_is_sorted_and_is_the_public_surface():
    assert list(sparkvision.__all__) == sorted(sparkvision.__all__)
    public = {n for n in dir(sparkvision) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(sparkvision, n)).__name__ == "module"}
    assert public - modules == set(sparkvision.__all__) - {"__version__"}


def test_builtin_models_listed():
    assert {"catdog", "imagenet", "embedding"} <= set(sparkvision.list_models())
