"""Your own models on a CUDA GPU: the same predictions as on the CPU, in fp32 and half
precision. Run on a machine with a GPU: ``pytest -m gpu tests/gpu``; without one these
tests are skipped (the CPU paths of the same code are tested in tests/unit)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import byo_nets
import sparkvision.executor.cache as cache
from helpers.drawing import write_images
from sparkvision.executor import predict_frame
from sparkvision.models import resolve_model

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine"),
]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return write_images(str(tmp_path_factory.mktemp("gpu-images")),
                        [f"img.{i}.jpg" for i in range(8)])


def outputs(frame, column="scores"):
    assert frame["error"].isna().all(), frame["error"].tolist()
    return np.stack([np.asarray(v, dtype=np.float32) for v in frame[column]])


@pytest.mark.parametrize("precision, tol", [("fp32", 1e-4), ("fp16", 5e-2), ("bf16", 5e-2)])
def test_torch_model_on_cuda_matches_cpu(tmp_path, images, precision, tol):
    path = byo_nets.save_torchscript(byo_nets.resnet_small(), str(tmp_path / "n.pt"), size=64)
    cpu = resolve_model(path, image_size=64, device="cpu")
    gpu = cpu.with_(device="cuda", precision=precision)
    engine = cache.get_engine(gpu)
    assert engine.device.type == "cuda"
    np.testing.assert_allclose(outputs(predict_frame(images, gpu, batch_size=4)),
                               outputs(predict_frame(images, cpu, batch_size=4)), atol=tol)


def test_resnet50_features_on_cuda_keep_2048(images):
    cpu = resolve_model("byo_nets:resnet50_features", task="embed", image_size=96, device="cpu")
    gpu = cpu.with_(device="auto")
    assert cache.get_engine(gpu).device.type == "cuda"  # auto picks the GPU
    a = outputs(predict_frame(images, cpu, batch_size=8), "embedding")
    b = outputs(predict_frame(images, gpu, batch_size=8), "embedding")
    assert b.shape == (len(images), 2048)
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def test_keras_model_on_cuda_matches_cpu(tmp_path, images):
    path = byo_nets.keras_save(byo_nets.seed_vgg3(size=64), str(tmp_path / "cnn.keras"))
    cpu = resolve_model(path, device="cpu")
    gpu = cpu.with_(device="cuda")
    np.testing.assert_allclose(outputs(predict_frame(images, gpu, batch_size=4)),
                               outputs(predict_frame(images, cpu, batch_size=4)), atol=1e-4)
    half = gpu.with_(precision="fp16")
    np.testing.assert_allclose(outputs(predict_frame(images, half, batch_size=4)),
                               outputs(predict_frame(images, cpu, batch_size=4)), atol=2e-2)


def test_onnx_on_the_cuda_provider_matches_cpu(tmp_path, images):
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime without CUDAExecutionProvider (install onnxruntime-gpu)")
    path = byo_nets.export_onnx(byo_nets.resnet_small(), str(tmp_path / "n.onnx"), size=64)
    cpu = resolve_model(path, device="cpu")
    gpu = cpu.with_(device="cuda")
    assert cache.get_engine(gpu).session.get_providers()[0] == "CUDAExecutionProvider"
    np.testing.assert_allclose(outputs(predict_frame(images, gpu, batch_size=4)),
                               outputs(predict_frame(images, cpu, batch_size=4)), atol=1e-4)
