"""The built-in network's ONNX file built without torch: the weights reader, the graph
against torch's own export, and the cache file name."""

from __future__ import annotations

import os
import pickle
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest

import sparkvision.models.builtin.export as export
import sparkvision.models.builtin.lite0_onnx as lite0_onnx
import sparkvision.models.builtin.torchfile as torchfile
from helpers.drawing import drawn_image, encode
from sparkvision.config import Preprocess
from sparkvision.errors import ModelError
from sparkvision.imaging import prepare_batch
from sparkvision.models.builtin.catalog import weights_path
from sparkvision.models.heads import apply_head
from sparkvision.models.loaders.onnx_loader import session

# -- the weights reader ------------------------------------------------------------------

def test_reads_the_legacy_weights_file_exactly_as_torch_does(torch):
    path = weights_path()
    assert not zipfile.is_zipfile(path)  # the shipped file uses torch's legacy layout
    ours = torchfile.load_state_dict(path)
    theirs = torch.load(path, map_location="cpu", weights_only=True)
    assert list(ours) == list(theirs)
    for name, tensor in theirs.items():
        expected = tensor.numpy()
        assert ours[name].dtype == expected.dtype, name
        np.testing.assert_array_equal(ours[name], expected, err_msg=name)


@pytest.mark.parametrize("legacy", [False, True])
def test_reads_views_offsets_and_dtypes_in_both_layouts(tmp_path, legacy, torch):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state = {
        "rows": base[1:3],                 # an offset into a shared storage
        "transposed": base.t(),            # non-contiguous strides
        "count": torch.tensor(7, dtype=torch.int64),
        "half": torch.linspace(-1, 1, 5).half(),
        "mask": torch.tensor([True, False, True]),
    }
    path = str(tmp_path / "state.pt")
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    assert zipfile.is_zipfile(path) is not legacy
    ours = torchfile.load_state_dict(path)
    for name, tensor in state.items():
        np.testing.assert_array_equal(ours[name], tensor.numpy(), err_msg=name)
        assert ours[name].dtype == tensor.numpy().dtype


class _Explodes:
    """Unpickling this would create a folder: the reader must refuse before calling it."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.makedirs, (self.target,))


def test_refuses_a_file_that_would_run_code_when_unpickled(tmp_path):
    target = str(tmp_path / "created-by-unpickling")
    legacy = tmp_path / "legacy.pth"
    with open(legacy, "wb") as fh:
        for header in (torchfile.LEGACY_MAGIC, 1001, {"little_endian": True}):
            pickle.dump(header, fh, protocol=2)
        pickle.dump({"weight": _Explodes(target)}, fh, protocol=2)
    archive = tmp_path / "zipped.pt"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"weight": _Explodes(target)}))
    for path in (legacy, archive):
        with pytest.raises(ModelError, match=r"posix\.makedirs|os\.makedirs"):
            torchfile.load_state_dict(str(path))
    assert not os.path.exists(target)


def test_a_damaged_weights_file_is_a_model_error(tmp_path):
    data = Path(weights_path()).read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"cut short|could not read"):
        torchfile.load_state_dict(str(cut))
    other = tmp_path / "other.pth"
    other.write_bytes(struct.pack("<q", 5) + b"not a pickle")
    with pytest.raises(ModelError):
        torchfile.load_state_dict(str(other))


def test_the_builder_refuses_weights_of_another_network():
    state = torchfile.load_state_dict(weights_path())
    state["_blocks.3._project_conv.weight"] = state["_blocks.3._project_conv.weight"][:5]
    with pytest.raises(ModelError, match=r"_bn2.weight of shape \(5,\)|_blocks\.3"):
        lite0_onnx.build_model(state)
    extra = {**torchfile.load_state_dict(weights_path()), "_extra.weight": np.zeros(3)}
    with pytest.raises(ModelError, match="does not use"):
        lite0_onnx.build_model(extra)


# -- the graph against torch's export -----------------------------------------------------

@pytest.fixture(scope="module")
def sessions(tmp_path_factory, torch):  # the reference export needs the torch extra
    from sparkvision.models.builtin.efficientnet import export_torch_onnx

    reference = str(tmp_path_factory.mktemp("torch-export") / "lite0-torch.onnx")
    export_torch_onnx(reference, opset=lite0_onnx.OPSET)
    built = export.ensure_onnx()
    return session(built, threads=2, device="cpu"), session(reference, threads=2, device="cpu")


def _run(sess, batch):
    features, logits = sess.run(["features", "logits"], {"input": batch})
    return features, logits


def test_same_inputs_and_outputs_as_the_torch_export():
    model = onnx.load(export.ensure_onnx())
    onnx.checker.check_model(model, full_check=True)
    (inp,) = model.graph.input
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert (inp.name, dims) == ("input", ["batch", 3, 224, 224])
    outs = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
            for o in model.graph.output}
    assert outs == {"features": ["batch", 1280], "logits": ["batch", 1000]}
    assert all(n.op_type != "BatchNormalization" for n in model.graph.node)  # folded


def test_outputs_equal_the_torch_export_on_random_inputs(sessions):
    ours, theirs = sessions
    rng = np.random.default_rng(0)
    for batch in (rng.standard_normal((3, 3, 224, 224)).astype(np.float32),
                  rng.uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)):
        for a, b in zip(_run(ours, batch), _run(theirs, batch), strict=True):
            assert a.shape == b.shape
            assert np.abs(a - b).max() <= 1e-4


def test_answers_equal_the_torch_export_on_drawn_images(sessions):
    ours, theirs = sessions
    images = [encode(drawn_image(seed, (400 + 16 * seed, 300)), "JPEG", quality=90)
              for seed in range(12)]
    batch, ok, failed = prepare_batch(images, Preprocess())
    assert not failed and len(ok) == 12
    (f1, l1), (f2, l2) = _run(ours, batch), _run(theirs, batch)
    assert np.abs(f1 - f2).max() <= 1e-4 and np.abs(l1 - l2).max() <= 1e-4
    for head, out1, out2 in (("catdog", l1, l2), ("imagenet", l1, l2)):
        a, b = apply_head(head, {"output": out1}), apply_head(head, {"output": out2})
        assert a["label"] == b["label"]
        np.testing.assert_allclose(a["score"], b["score"], atol=1e-5)
    assert len(set(apply_head("imagenet", {"output": l1})["label"])) > 1  # not one constant


# -- the cache file name ------------------------------------------------------------------

def test_cache_name_carries_weights_opset_and_builder(tmp_path, monkeypatch):
    name = os.path.basename(export.onnx_path())
    assert name.startswith("efficientnet-lite0-") and "-opset17-b" in name
    before = export.builder_digest()
    changed = tmp_path / "lite0_onnx.py"
    changed.write_bytes(Path(lite0_onnx.__file__).read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(lite0_onnx, "__file__", str(changed))
    export.builder_digest.cache_clear()
    try:
        assert export.builder_digest() != before
        assert os.path.basename(export.onnx_path()) != name
    finally:
        monkeypatch.undo()
        export.builder_digest.cache_clear()
    assert export.builder_digest() == before


def test_building_needs_no_torch(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # any `import torch` now fails
    path = str(tmp_path / "built.onnx")
    export.export_onnx(path)
    assert onnx.load(path).graph.output[1].name == "logits"
    assert os.path.getsize(path) > 10_000_000  # the weights are in the file
