"""Your own models without Spark: each format resolved, preprocessed and run through the
same executor code the UDFs use, compared with the framework's own prediction."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import threading

import numpy as np
import pytest

import sparkvision.executor.cache as cache
from helpers.drawing import drawn_image, encode, write_images
from sparkvision.config import ModelSpec, Preprocess
from sparkvision.errors import ConfigError, ModelError
from sparkvision.executor import predict_frame
from sparkvision.imaging import prepare
from sparkvision.models import resolve_model
from sparkvision.models.card import normalize, read_card
from sparkvision.models.heads import SCHEMAS, apply_head, generic_head
from sparkvision.models.resolve import IMAGENET_MEAN, IMAGENET_STD


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("byo-images")
    return write_images(str(root), [f"img.{i}.jpg" for i in range(5)] + ["wide.png"],
                        size=(96, 72))


def batch_of(paths, pre: Preprocess) -> np.ndarray:
    arrays = []
    for p in paths:
        with open(p, "rb") as fh:
            arrays.append(prepare(fh.read(), pre))
    return np.stack(arrays)


def scores(frame) -> np.ndarray:
    assert frame["error"].isna().all(), frame["error"].tolist()
    return np.stack([np.asarray(s, dtype=np.float32) for s in frame["scores"]])


# ---------------------------------------------------------------------------- model cards


def test_card_toml_and_json_hold_the_seed_model(tmp_path):
    toml = tmp_path / "catdog.toml"
    toml.write_text('image_size = 200\nscale = "1/255"\noutput = "sigmoid"\n'
                    'labels = ["cat", "dog"]\nthreshold = 0.5\n')
    card = read_card(str(toml))
    assert card == {"image_size": 200, "scale": 1 / 255, "output": "sigmoid",
                    "labels": ("cat", "dog"), "threshold": 0.5}
    js = tmp_path / "catdog.json"
    js.write_text(json.dumps({"image_size": 192, "labels": "cat,dog", "mean": 0.5,
                              "from_logits": "no"}))
    assert read_card(str(js)) == {"image_size": 192, "labels": ("cat", "dog"),
                                  "mean": (0.5, 0.5, 0.5), "from_logits": False}


def test_card_rejects_unknown_keys_bad_values_and_trust(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'size'.*image_size"):
        normalize({"size": 3})
    with pytest.raises(ConfigError, match=r"bad value for 'layout'.*nchw, nhwc"):
        normalize({"layout": "chw"})
    with pytest.raises(ConfigError, match=r"mean.*one or three numbers"):
        normalize({"mean": [1, 2]})
    card = tmp_path / "evil.json"
    card.write_text('{"trust_model_code": true}')
    with pytest.raises(ConfigError, match=r"not a model-card key.*--trust-model-code"):
        read_card(str(card))


# ---------------------------------------------------------------------------- heads


def test_sigmoid_head_threshold_means_second_label():
    p = np.array([[0.2], [0.5], [0.9]], dtype=np.float32)
    out = generic_head("sigmoid", p, labels=("cat", "dog"), threshold=0.5, from_logits=False)
    assert out["label"] == ["cat", "dog", "dog"]
    np.testing.assert_allclose(out["score"], [0.8, 0.5, 0.9], rtol=1e-6)
    np.testing.assert_allclose(np.stack(out["scores"])[:, 0], p[:, 0])
    stricter = generic_head("sigmoid", p, labels=("cat", "dog"), threshold=0.95, from_logits=False)
    assert stricter["label"] == ["cat", "cat", "cat"]
    logits = generic_head("sigmoid", np.array([[0.0], [3.0]]), labels=("a", "b"))
    np.testing.assert_allclose(np.stack(logits["scores"])[:, 0], [0.5, 1 / (1 + np.exp(-3))],
                               rtol=1e-6)


def test_softmax_and_logits_heads_and_label_count():
    x = np.array([[1.0, 3.0, 0.0], [5.0, -1.0, 2.0]], dtype=np.float32)
    soft = generic_head("softmax", x, labels=("a", "b", "c"))
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(np.stack(soft["scores"]), e / e.sum(1, keepdims=True), rtol=1e-6)
    assert soft["label"] == ["b", "a"]
    raw = generic_head("logits", x)
    assert raw["label"] == ["1", "0"] and raw["score"] == [3.0, 5.0]
    with pytest.raises(ValueError, match=r"2 labels given.*3 outputs"):
        generic_head("softmax", x, labels=("a", "b"))


def test_embedding_head_flattens_any_output_shape():
    out = apply_head("embedding", {"output": np.ones((2, 4, 1, 1), dtype=np.float64)})
    assert [v.shape for v in out["embedding"]] == [(4,), (4,)]
    assert out["embedding"][0].dtype == np.float32
    assert "scores array<float>" in SCHEMAS["softmax"]


# ---------------------------------------------------------------------------- preprocessing


def test_crop_none_squashes_the_whole_image():
    img = drawn_image(3, (120, 60))
    pre = Preprocess(size=32, resize=32, crop="none", scale=1 / 255, mean=(0, 0, 0),
                     std=(1, 1, 1), layout="nhwc")
    got = prepare(encode(img, "PNG"), pre)
    expected = np.asarray(img.resize((32, 32), resample=2), dtype=np.float32) / 255
    np.testing.assert_allclose(got, expected, atol=1e-6)


# ---------------------------------------------------------------------------- Keras


@pytest.fixture(scope="module")
def vgg3(tmp_path_factory, keras, byo_nets):
    folder = tmp_path_factory.mktemp("keras")
    model = byo_nets.seed_vgg3(size=48)
    h5 = byo_nets.keras_save(model, str(folder / "catdog_cnn.h5"))
    native = byo_nets.keras_save(model, str(folder / "catdog_cnn.keras"))
    return model, h5, native


@pytest.mark.parametrize("which", ["h5", "keras"])
def test_keras_seed_cnn_defaults_from_the_model_and_equals_keras(vgg3, images, which, keras,
                                                                 byo_nets):
    model, h5, native = vgg3
    spec = resolve_model(h5 if which == "h5" else native, labels="cat,dog")
    assert spec.format == "keras" and spec.head == "sigmoid" and not spec.from_logits
    pre = spec.preprocess
    assert (pre.size, pre.layout, pre.crop) == (48, "nhwc", "none")
    assert pre.scale == pytest.approx(1 / 255) and pre.mean == (0.0, 0.0, 0.0)
    frame = predict_frame(images, spec, batch_size=4)
    expected = byo_nets.keras_predict(model, batch_of(images, pre))
    np.testing.assert_allclose(scores(frame), expected, atol=1e-4)
    assert frame["label"].tolist() == ["dog" if p >= 0.5 else "cat" for p in expected[:, 0]]


def test_keras_card_expresses_the_seed_model(tmp_path, images, keras, byo_nets):
    model = byo_nets.keras_any_size(classes=1, activation="sigmoid")
    path = byo_nets.keras_save(model, str(tmp_path / "seed.keras"))
    card = tmp_path / "catdog.toml"
    card.write_text('image_size = 200\nscale = "1/255"\noutput = "sigmoid"\n'
                    'labels = ["cat", "dog"]\nthreshold = 0.5\n')
    spec = resolve_model(path, model_config=str(card))
    assert (spec.preprocess.size, spec.labels, spec.threshold) == (200, ("cat", "dog"), 0.5)
    frame = predict_frame(images[:2], spec, batch_size=2)
    expected = byo_nets.keras_predict(model, batch_of(images[:2], spec.preprocess))
    np.testing.assert_allclose(scores(frame), expected, atol=1e-4)


def test_keras_embedding_from_a_named_layer(vgg3, images, keras, byo_nets):
    model, _, native = vgg3
    spec = resolve_model(native, task="embed", output_name="fc")
    frame = predict_frame(images[:3], spec, batch_size=3)
    k = byo_nets.keras()
    sub = k.Model(model.inputs[0], model.get_layer("fc").output)
    expected = byo_nets.keras_predict(sub, batch_of(images[:3], spec.preprocess))
    got = np.stack(frame["embedding"].tolist())
    assert got.shape == (3, 128)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_keras_lambda_layer_needs_trust(tmp_path, keras, byo_nets):
    k = byo_nets.keras()
    model = k.Sequential([k.Input((8, 8, 3)), k.layers.Lambda(lambda x: x * 2.0),
                          k.layers.Flatten(), k.layers.Dense(2, activation="softmax")])
    path = byo_nets.keras_save(model, str(tmp_path / "lambda.keras"))
    with pytest.raises(ModelError, match=r"Lambda.*`trust_model_code`"):
        resolve_model(path)
    spec = resolve_model(path, trust_model_code=True)
    assert spec.trust_code and spec.head == "softmax"


# ---------------------------------------------------------------------------- torch


def test_torchscript_equals_torch(tmp_path, images, torch, byo_nets):
    net = byo_nets.resnet_small()
    path = byo_nets.save_torchscript(net, str(tmp_path / "net.pt"), size=40)
    spec = resolve_model(path, labels=["a", "b", "c"], image_size=40)
    assert spec.format == "torchscript" and spec.head == "softmax" and spec.from_logits
    pre = spec.preprocess
    assert (pre.size, pre.resize, pre.crop, pre.layout) == (40, 46, "center", "nchw")
    assert pre.mean == IMAGENET_MEAN and pre.std == IMAGENET_STD
    frame = predict_frame(images, spec, batch_size=4)
    with torch.no_grad():
        logits = net.eval()(torch.from_numpy(batch_of(images, pre))).numpy()
    expected = torch.softmax(torch.from_numpy(logits), 1).numpy()
    np.testing.assert_allclose(scores(frame), expected, atol=1e-5)
    assert frame["label"].tolist() == [["a", "b", "c"][i] for i in expected.argmax(1)]


def test_state_dict_with_arch_string_or_callable(tmp_path, images, torch, byo_nets):
    net = byo_nets.trained_tiny_net()
    path = str(tmp_path / "weights.pth")
    torch.save({"state_dict": net.state_dict(), "epoch": 3}, path)
    with pytest.raises(ModelError, match=r"weights only.*`arch`"):
        resolve_model(path)
    for arch in ("byo_nets:tiny_net", byo_nets.tiny_net):
        spec = resolve_model(path, arch=arch, image_size=32, output="logits")
        frame = predict_frame(images, spec, batch_size=3)
        with torch.no_grad():
            expected = net(torch.from_numpy(batch_of(images, spec.preprocess))).numpy()
        np.testing.assert_allclose(scores(frame), expected, atol=1e-5)
    with pytest.raises(ModelError, match=r"do not fit the network.*missing keys"):
        resolve_model(path, arch="byo_nets:resnet_small", image_size=32)


def test_full_pickled_model_needs_trust(tmp_path, images, torch, byo_nets):
    net = byo_nets.trained_tiny_net()
    path = str(tmp_path / "full.pt")
    torch.save(net, path)
    with pytest.raises(ModelError, match=r"can run code.*`trust_model_code`"):
        resolve_model(path)
    spec = resolve_model(path, trust_model_code=True, image_size=32)
    frame = predict_frame(images[:2], spec, batch_size=2)
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(batch_of(images[:2], spec.preprocess))), 1)
    np.testing.assert_allclose(scores(frame), expected.numpy(), atol=1e-5)
    checkpoint = str(tmp_path / "checkpoint.pt")
    torch.save({"model": net, "epoch": 9}, checkpoint)
    with pytest.raises(ModelError, match="can run code"):
        resolve_model(checkpoint, image_size=32)
    spec = resolve_model(checkpoint, trust_model_code=True, image_size=32)
    np.testing.assert_allclose(scores(predict_frame(images[:2], spec, batch_size=2)),
                               expected.numpy(), atol=1e-5)


def test_module_callable_resnet50_features_keep_2048(images, torch, byo_nets):
    spec = resolve_model("byo_nets:resnet50_features", task="embed", image_size=64)
    assert spec.format == "callable" and spec.head == "embedding"
    frame = predict_frame(images[:2], spec, batch_size=2)
    got = np.stack(frame["embedding"].tolist())
    assert got.shape == (2, 2048)
    with torch.no_grad():
        expected = byo_nets.resnet50_features()(torch.from_numpy(batch_of(images[:2],
                                                                          spec.preprocess)))
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_live_module_and_sigmoid_ending_is_detected(images, torch, byo_nets):
    net = torch.nn.Sequential(byo_nets.TinyNet(num_classes=1), torch.nn.Sigmoid())
    spec = resolve_model(net, labels=("no", "yes"), image_size=32)
    assert spec.format == "torch" and spec.head == "sigmoid" and not spec.from_logits
    frame = predict_frame(images[:3], spec, batch_size=3)
    with torch.no_grad():
        expected = net.eval()(torch.from_numpy(batch_of(images[:3], spec.preprocess))).numpy()
    np.testing.assert_allclose(scores(frame), expected, atol=1e-5)


def test_wrong_input_size_fails_on_the_driver_with_advice(tmp_path, keras, byo_nets):
    k = byo_nets.keras()
    model = k.Sequential([k.Input((16, 16, 3)), k.layers.Flatten(), k.layers.Dense(2)])
    path = byo_nets.keras_save(model, str(tmp_path / "fixed.keras"))
    with pytest.raises(ModelError, match=r"failed on a blank NHWC image of 24x24.*`image_size`"):
        resolve_model(path, image_size=24)
    with pytest.raises(ConfigError, match=r"3 labels given.*2 outputs"):
        resolve_model(path, labels="a,b,c")


# ---------------------------------------------------------------------------- ONNX


@pytest.mark.parametrize("nhwc", [False, True])
def test_onnx_layout_size_and_activation_read_from_the_graph(tmp_path, images, nhwc, torch,
                                                             byo_nets):
    net = torch.nn.Sequential(byo_nets.TinyNet(num_classes=1), torch.nn.Sigmoid()).eval()
    path = byo_nets.export_onnx(net, str(tmp_path / "net.onnx"), size=36, nhwc=nhwc)
    spec = resolve_model(path, labels=["cat", "dog"])
    pre = spec.preprocess
    assert spec.format == "onnx" and spec.head == "sigmoid" and not spec.from_logits
    assert pre.size == 36 and pre.layout == ("nhwc" if nhwc else "nchw")
    assert pre.crop == ("none" if nhwc else "center")  # NHWC ONNX: the Keras family
    frame = predict_frame(images, spec, batch_size=4)
    x = batch_of(images, pre)
    with torch.no_grad():
        t = torch.from_numpy(x)
        expected = net(t.permute(0, 3, 1, 2) if nhwc else t).numpy()
    np.testing.assert_allclose(scores(frame), expected, atol=1e-5)


def test_onnx_precision_other_than_fp32_is_refused(tmp_path, byo_nets):
    path = byo_nets.export_onnx(byo_nets.TinyNet(), str(tmp_path / "n.onnx"), size=32)
    with pytest.raises(ConfigError, match="does not apply to ONNX"):
        resolve_model(path, precision="fp16")


# ---------------------------------------------------------------------------- device, precision


def test_bf16_on_cpu_for_torch_and_keras(tmp_path, images, vgg3, torch, byo_nets):
    net = byo_nets.trained_tiny_net()
    path = str(tmp_path / "w.pth")
    torch.save(net.state_dict(), path)
    fp32 = resolve_model(path, arch="byo_nets:tiny_net", image_size=32, output="logits",
                         device="cpu")
    bf16 = fp32.with_(precision="bf16")
    engine = cache.get_engine(bf16)
    assert next(engine.module.parameters()).dtype == torch.bfloat16
    a = scores(predict_frame(images, fp32, batch_size=3))
    b = scores(predict_frame(images, bf16, batch_size=3))
    assert not np.array_equal(a, b)  # it really ran in bfloat16
    np.testing.assert_allclose(a, b, rtol=0.05, atol=0.05)
    _, _, native = vgg3
    k32 = resolve_model(native, device="cpu")
    a = scores(predict_frame(images, k32, batch_size=3))
    b = scores(predict_frame(images, k32.with_(precision="bf16"), batch_size=3))
    np.testing.assert_allclose(a, b, atol=0.02)


def test_cuda_without_a_gpu_says_so(torch, byo_nets):
    if torch.cuda.is_available():
        pytest.skip("checks the message on a machine without a GPU")
    spec = resolve_model("byo_nets:tiny_net", image_size=32).with_(device="cuda")
    with pytest.raises(ModelError, match=r"`device` cuda.*no CUDA GPU.*`device` auto"):
        cache.get_engine(spec)


# ---------------------------------------------------------------------------- cache, capture


def test_callable_spec_pickles_small_with_a_stable_model_id(tmp_path, byo_nets):
    counter = tmp_path / "builds"

    def build():
        with open(counter, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return byo_nets.TinyNet()

    spec = resolve_model(build, image_size=32)
    again = pickle.loads(pickle.dumps(spec))
    assert again.model_id == spec.model_id and again == spec
    assert len(pickle.dumps(spec)) < 64 * 1024
    cache.clear_cache()
    first = cache.get_engine(again)
    assert all(cache.get_engine(pickle.loads(pickle.dumps(spec))) is first for _ in range(3))
    # one build on the driver (the probe in resolve_model) and one in this "worker"
    assert counter.read_text().splitlines() == [str(os.getpid())] * 2


class Holder:
    def __init__(self) -> None:
        self.lock = threading.Lock()

    def build(self):
        import byo_nets

        return byo_nets.TinyNet()


def test_unpicklable_capture_is_reported_on_the_driver(byo_nets):
    with pytest.raises(ModelError, match=r"Holder\.build cannot be sent.*pickling it failed.*lock"):
        resolve_model(Holder().build, image_size=32)


def test_builtin_models_are_an_onnx_file_and_a_card():
    spec = resolve_model("catdog")
    assert (spec.format, spec.engine, spec.head, spec.output_name) == (
        "onnx", "onnx", "catdog", "logits")
    assert spec.preprocess.size == 224 and spec.artifact_sha256
    # The same checks as for a user's model: the catdog head names its own classes...
    with pytest.raises(ConfigError, match="the catdog head has none of its own to rename"):
        resolve_model("catdog", labels=["a", "b"])
    # ...and an engine the format cannot run on is refused, not dropped.
    with pytest.raises(ModelError, match=r"runs on onnx \(default\), openvino or torch"):
        resolve_model("catdog", engine="keras")


def test_builtin_models_on_the_torch_engine(torch):
    embed = resolve_model("catdog", task="embed", engine="torch")
    assert (embed.format, embed.head, embed.output_name) == ("torch", "embedding", "features")


def test_unknown_model_names_the_choices():
    with pytest.raises(ModelError, match=r"not a built-in model.*catdog.*not an existing file"):
        resolve_model("no-such-model.h5")


def test_spec_checks_new_fields():
    with pytest.raises(ConfigError, match="unknown device"):
        ModelSpec(name="x", device="tpu")
    with pytest.raises(ConfigError, match="threshold"):
        ModelSpec(name="x", threshold=1.5)
    with pytest.raises(ConfigError, match="crop"):
        Preprocess(crop="left")


# ---------------------------------------------------------------------------- shipping


def test_auto_ship_is_path_locally_and_for_uris_broadcast_on_clusters(monkeypatch):
    import sparkvision.runtime.shipping as shipping

    assert shipping.choose_ship("auto", "/m/net.onnx", "local[4]") == "path"
    assert shipping.choose_ship("auto", "/m/net.onnx", "spark://127.0.0.1:7077") == "path"
    assert shipping.choose_ship("auto", "/m/net.onnx", "spark://10.0.0.5:7077") == "broadcast"
    assert shipping.choose_ship("auto", "/m/net.onnx", "yarn") == "broadcast"
    assert shipping.choose_ship("auto", "file:///m/net.onnx", "yarn") == "broadcast"
    monkeypatch.setattr(shipping, "_has_fsspec", lambda: True)
    assert shipping.choose_ship("auto", "s3a://bucket/net.onnx", "yarn") == "path"
    monkeypatch.setattr(shipping, "_has_fsspec", lambda: False)
    assert shipping.choose_ship("auto", "s3a://bucket/net.onnx", "yarn") == "broadcast"
    assert shipping.choose_ship("path", "/m/net.onnx", "yarn") == "path"
    assert shipping.choose_ship("broadcast", "/m/net.onnx", "local[2]") == "broadcast"
    with pytest.raises(ConfigError, match="`ship` must be one of"):
        shipping.choose_ship("copy", "/m/net.onnx", None)


class FakeBroadcast:
    """Stands in for a Spark broadcast on a worker: ``value`` is the driver's bytes."""

    def __init__(self, data: bytes) -> None:
        self.value = data


def test_broadcast_bytes_land_once_in_the_worker_cache_and_are_checked(tmp_path):
    import sparkvision.storage.model_files as shipping

    data = b"model bytes" * 100
    sha = hashlib.sha256(data).hexdigest()
    shipped = shipping.Shipped(FakeBroadcast(data), sha, ".onnx")
    spec = ModelSpec(name="n", format="onnx", artifact="/driver/only/net.onnx",
                     artifact_sha256=sha, shipped=shipped)
    path = shipping.local_model_file(spec)
    with open(path, "rb") as fh:
        assert path.endswith(f"{sha}.onnx") and fh.read() == data
    assert str(shipped) in json.dumps(dataclasses.asdict(spec), default=str)
    bad = shipping.Shipped(FakeBroadcast(b"other"), "0" * 64, ".onnx")
    with pytest.raises(ModelError, match=r"not the file the driver read.*`ship` broadcast"):
        shipping.local_model_file(spec.with_(shipped=bad, artifact_sha256="0" * 64))


def test_a_path_the_worker_cannot_read_says_what_to_do(tmp_path):
    import sparkvision.storage.model_files as shipping

    spec = ModelSpec(name="n", format="onnx", artifact=str(tmp_path / "gone.onnx"))
    with pytest.raises(ModelError, match=r"cannot read the model file.*`ship` broadcast"):
        shipping.local_model_file(spec)
    changed = tmp_path / "net.onnx"
    changed.write_bytes(b"new content")
    with pytest.raises(ModelError, match="not the file the driver read"):
        shipping.local_model_file(spec.with_(artifact=str(changed), artifact_sha256="f" * 64))


def test_capture_walk_names_the_path_to_a_driver_only_object(byo_nets):
    from sparkvision.models.capture import find_driver_only

    class SparkSession:  # a stand-in with the real class's name and module
        pass

    SparkSession.__module__ = "pyspark.sql.session"
    holder = Holder()
    holder.session = SparkSession()
    found = find_driver_only(holder.build, "Holder.build")
    assert found == ("Holder.build -> self (Holder) -> .session (SparkSession)", "SparkSession")
    assert find_driver_only(byo_nets.tiny_net, "tiny_net") is None


# ---------------------------------------------------------------------------- command line


def test_cli_flags_become_model_options():
    from sparkvision.cli.flags import model_options
    from sparkvision.cli.main import build_parser

    args = build_parser().parse_args([
        "classify", "photos/", "--out", "o", "--model", "cnn.h5", "--image-size", "200",
        "--scale", "1/255", "--labels", "cat,dog", "--threshold", "0.6", "--crop", "none",
        "--from-logits", "no", "--ship", "broadcast", "--device", "cpu", "--precision", "bf16",
        "--trust-model-code", "--model-config", "card.toml",
    ])
    options = model_options(args).as_kwargs()
    assert options == {
        "image_size": "200", "scale": "1/255", "labels": "cat,dog", "threshold": "0.6",
        "crop": "none", "from_logits": False, "model_config": "card.toml", "ship": "broadcast",
        "device": "cpu", "precision": "bf16", "trust_model_code": True,
    }
    assert normalize({k: v for k, v in options.items() if k in ("image_size", "scale",
                                                               "labels", "threshold")}) == {
        "image_size": 200, "scale": 1 / 255, "labels": ("cat", "dog"), "threshold": 0.6}
    plain = build_parser().parse_args(["embed", "photos/", "--out", "o"])
    assert model_options(plain).as_kwargs() == {}


def test_py_files_make_a_module_callable_importable(tmp_path, images, byo_nets):
    module = tmp_path / "shipped_nets_for_test.py"
    module.write_text("import byo_nets\n\n"
                      "def build():\n    return byo_nets.TinyNet(num_classes=2)\n")
    with pytest.raises(ModelError, match="could not import module 'shipped_nets_for_test'"):
        resolve_model("shipped_nets_for_test:build", image_size=32)
    spec = resolve_model("shipped_nets_for_test:build", image_size=32, py_files=str(module))
    assert spec.format == "callable" and spec.head == "softmax"
    assert predict_frame(images[:2], spec, batch_size=2)["error"].isna().all()
    with pytest.raises(ConfigError, match=r"`py_files`: .*nope\.py is not a file"):
        resolve_model("shipped_nets_for_test:build", py_files=str(tmp_path / "nope.py"))


def test_a_model_at_a_uri_is_read_through_fsspec_and_checked(tmp_path, images, byo_nets):
    fsspec = pytest.importorskip("fsspec")
    local = byo_nets.export_onnx(byo_nets.TinyNet(), str(tmp_path / "net.onnx"), size=32)
    with open(local, "rb") as src, fsspec.open("memory://sv-tests/net.onnx", "wb") as dst:
        dst.write(src.read())
    spec = resolve_model("memory://sv-tests/net.onnx", labels="a,b,c")
    assert spec.artifact == "memory://sv-tests/net.onnx" and spec.shipped is None
    by_uri = scores(predict_frame(images[:3], spec, batch_size=3))
    by_file = scores(predict_frame(images[:3], resolve_model(local, labels="a,b,c"), batch_size=3))
    np.testing.assert_allclose(by_uri, by_file, atol=1e-6)
