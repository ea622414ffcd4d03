import pickle
import random

import pytest

import sparkvision.executor.cache as cache
from sparkvision.config import ModelSpec
from sparkvision.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean():
    cache.clear_cache()
    yield
    cache.clear_cache()


def test_engine_built_once_per_spec_and_reused():
    calls = []

    def build(spec):
        calls.append(spec.model_id)
        return random.random()  # a distinct value per build: reuse returns the same one

    spec = ModelSpec(name="catdog")
    first = cache.get_engine(spec, build)
    assert all(cache.get_engine(spec, build) == first for _ in range(5))
    assert calls == [spec.model_id]
    info = cache.cache_info()
    assert info["builds"] == 1 and info["hits"] == 5


def test_different_specs_get_different_engines_and_lru_evicts():
    built = []
    specs = [ModelSpec(name="catdog", threads=t) for t in (1, 2, 3)]
    for s in specs:
        cache.get_engine(s, lambda sp: built.append(sp.threads) or sp.threads)
    assert built == [1, 2, 3]
    assert cache.cache_info()["models"] == 2  # the oldest was evicted
    cache.get_engine(specs[0], lambda sp: built.append(sp.threads) or sp.threads)
    assert built == [1, 2, 3, 1]


def test_model_id_is_stable_and_spec_is_small_to_pickle():
    a, b = ModelSpec(name="catdog"), ModelSpec(name="catdog")
    assert a.model_id == b.model_id
    assert a.model_id != ModelSpec(name="catdog", engine="torch").model_id
    assert len(pickle.dumps(a)) < 2000


def test_bad_spec_values_are_rejected():
    with pytest.raises(ConfigError, match="engine"):
        ModelSpec(name="x", engine="tensorflow")
    with pytest.raises(ConfigError, match="threads"):
        ModelSpec(name="x", threads=0)
