"""Without torch (the core install), everything that needs it says which extra to install,
and the built-in model still runs on ONNX Runtime."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import sparkvision.models.capture as capture
import sparkvision.models.loaders.hf_loader as hf_loader
import sparkvision.models.loaders.keras_loader as keras_loader
import sparkvision.models.loaders.torchscript_loader as torchscript_loader
from sparkvision.errors import MissingExtraError
from sparkvision.models.device import import_torch
from sparkvision.models.resolve import resolve_model


@pytest.fixture
def no_torch(monkeypatch):
    """Make every ``import torch`` (and of the torch-only modules) fail in this test."""
    for name in ("torch", "efficientnet_lite_pytorch"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "sparkvision.models.builtin.efficientnet", raising=False)


def _one_line(exc: pytest.ExceptionInfo, extra: str) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert f"pip install 'sparkvision[{extra}]'" in message
    assert exc.value.extra == extra
    return message


def test_import_torch_names_the_extra(no_torch):
    with pytest.raises(MissingExtraError) as exc:
        import_torch("Running a PyTorch model")
    assert _one_line(exc, "torch").startswith(
        "Running a PyTorch model needs the Python package 'torch'")


def test_builtin_model_on_the_torch_engine_needs_the_torch_extra(no_torch):
    with pytest.raises(MissingExtraError) as exc:
        resolve_model("catdog", engine="torch")
    _one_line(exc, "torch")


def test_builtin_model_on_onnx_runs_without_torch(no_torch):
    spec = resolve_model("imagenet")
    from sparkvision.executor import get_engine

    out = get_engine(spec)(np.zeros((2, 3, 224, 224), dtype=np.float32))["output"]
    assert out.shape == (2, 1000) and np.isfinite(out).all()
    assert sys.modules.get("torch") is None  # nothing imported torch behind our back


def test_torchscript_file_needs_the_torch_extra(no_torch, tmp_path):
    path = tmp_path / "net.pt"
    path.write_bytes(b"PK\x03\x04 not read: torch is checked first")
    with pytest.raises(MissingExtraError) as exc:
        torchscript_loader.load_module(str(path))
    _one_line(exc, "torch")


def test_callables_that_import_torch_need_the_torch_extra(no_torch, tmp_path, monkeypatch):
    (tmp_path / "user_nets_needing_torch.py").write_text("import torch\n\ndef build():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for ref in ("user_nets_needing_torch:build", "sparkvision.models.builtin.efficientnet:lite0"):
        with pytest.raises(MissingExtraError) as exc:
            capture.load_callable(ref)
        _one_line(exc, "torch")


def test_keras_and_hugging_face_name_their_own_extras(no_torch):
    with pytest.raises(MissingExtraError) as exc:
        keras_loader.import_keras()
    _one_line(exc, "keras")
    with pytest.raises(MissingExtraError) as exc:
        hf_loader.import_transformers()
    _one_line(exc, "hf")
