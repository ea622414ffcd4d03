"""Decode modes: ``exact`` is a full-size decode followed by the model's own resize and
crop in whole pixels (Hugging Face folders then score as ``transformers.pipeline`` does);
``fast`` decodes JPEGs at a reduced scale; each model has its default; ``--resume`` never
mixes the two.

The large JPEGs are drawn here (nothing is downloaded)."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
from PIL import Image

from helpers.drawing import drawn_image, encode
from helpers.extras import need
from sparkvision.config import Preprocess
from sparkvision.errors import ConfigError, ModelError
from sparkvision.imaging import prepare, prepare_pixels
from sparkvision.imaging.preprocess import RESAMPLE, exact_resize
from sparkvision.jobs.resume import RUN_INFO, check_run_info, run_info, write_run_info
from sparkvision.models import resolve_model
from sparkvision.models.card import normalize, read_card

#: large, not square, odd and even sides (the crop offsets round differently)
SIZES = ((2300, 1700), (1999, 2301), (2048, 2001))
BUILTIN_LIKE = dict(size=224, resize=256, scale=1.0, mean=(127.0,) * 3, std=(128.0,) * 3)


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return [encode(drawn_image(10 + i, size), quality=92) for i, size in enumerate(SIZES)]


def reference(data: bytes, pre: Preprocess) -> np.ndarray:
    """A full-size PIL decode, the whole image resized (longer side truncated to whole
    pixels), a whole-pixel center crop, then ``(x * scale - mean) / std``, NCHW."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    new = (pre.resize, int(pre.resize * h / w)) if w <= h else (int(pre.resize * w / h),
                                                                pre.resize)
    img = img.resize(new, RESAMPLE[pre.interpolation])
    left, top = (new[0] - pre.size) // 2, (new[1] - pre.size) // 2
    pixels = np.asarray(img.crop((left, top, left + pre.size, top + pre.size)), np.float32)
    out = (pixels * np.float32(pre.scale) - np.float32(pre.mean)) / np.float32(pre.std)
    return out.transpose(2, 0, 1)


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos"])
def test_exact_is_a_full_size_decode_then_the_same_resize_and_crop(jpegs, interpolation):
    pre = Preprocess(**BUILTIN_LIKE, interpolation=interpolation, decode="exact")
    for data in jpegs:
        np.testing.assert_allclose(prepare(data, pre), reference(data, pre), atol=1e-5)


def test_fast_differs_on_large_jpegs(jpegs):
    fast, exact = Preprocess(**BUILTIN_LIKE), Preprocess(**BUILTIN_LIKE, decode="exact")
    assert fast.decode == "fast"  # the dataclass default: what the built-in models use
    for data in jpegs:
        diff = np.abs(prepare(data, fast) - prepare(data, exact)).max()
        assert diff > 0.05, diff


def test_exact_squash_and_decoded_pixels_are_not_pre_shrunk():
    img = drawn_image(3, (2100, 1500))
    squash = Preprocess(size=32, resize=32, crop="none", scale=1 / 255, mean=(0.5,) * 3,
                        std=(0.5,) * 3, decode="exact")
    want = np.asarray(img.resize((32, 32), Image.Resampling.BILINEAR), np.float32)
    want = ((want / 255 - 0.5) / 0.5).transpose(2, 0, 1)
    np.testing.assert_allclose(prepare(encode(img, "PNG"), squash), want, atol=1e-5)
    bgr = np.asarray(img)[:, :, ::-1]
    np.testing.assert_array_equal(prepare_pixels(bgr, squash), prepare(encode(img, "PNG"), squash))
    fast = Preprocess(size=32, resize=32, crop="none", scale=1 / 255, mean=(0.5,) * 3,
                      std=(0.5,) * 3)
    assert np.abs(prepare_pixels(bgr, fast) - prepare_pixels(bgr, squash)).max() > 1e-3


@pytest.mark.parametrize("decode", ["fast", "exact"])
def test_resize_equal_to_the_crop_works_in_both_modes(decode):
    """374 px: 224 / (224 / 374) is a rounding error above 374 (a negative crop offset)."""
    pre = Preprocess(size=224, resize=224, decode=decode)
    for size in ((374, 451), (451, 374), (380, 381)):
        assert prepare(encode(drawn_image(1, size), "PNG"), pre).shape == (3, 224, 224)


def test_exact_resize_truncates_the_longer_side():
    assert exact_resize(4000, 3000, 256) == (341, 256)
    assert exact_resize(1999, 2301, 224) == (224, 257)
    assert exact_resize(300, 300, 224) == (224, 224)


# ------------------------------------------------------------- options and card keys

def test_decode_values_are_checked_everywhere(tmp_path):
    assert normalize({"decode": " Exact "}) == {"decode": "exact"}
    with pytest.raises(ConfigError, match=r"model options: bad value for 'decode': 'slow' "
                                          r"\(expected one of fast, exact; fast decodes"):
        normalize({"decode": "slow"})
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"decode": "full"}))
    with pytest.raises(ConfigError, match=rf"model card {card}: bad value for 'decode': 'full'"):
        read_card(str(card))
    with pytest.raises(ConfigError, match=r"unknown decode 'draft'; expected one of fast, exact"):
        Preprocess(decode="draft")
    with pytest.raises(ConfigError, match=r"bad value for 'decode'"):
        resolve_model("catdog", decode="quick")


def test_the_python_api_passes_decode_to_resolve_model():
    from sparkvision.options import ModelOptions

    assert ModelOptions.from_mapping({"decode": "exact"}).as_kwargs() == {"decode": "exact"}
    with pytest.raises(ConfigError, match=r"`decode`.*expected one of fast, exact"):
        ModelOptions.from_mapping({"decode": "slow"})


def test_builtin_models_keep_fast_unless_asked():
    for name, task in (("catdog", "classify"), ("imagenet", "classify"), ("embedding", "embed")):
        assert resolve_model(name, task=task).preprocess.decode == "fast"
    assert resolve_model("catdog", task="embed").preprocess.decode == "fast"
    assert resolve_model("catdog", decode="exact").preprocess.decode == "exact"
    assert resolve_model("catdog", model_config={"decode": "exact"}).preprocess.decode == "exact"


def _tiny_onnx(path: str) -> str:
    """A graph without torch: the mean of each channel of a 3 x 32 x 32 input."""
    from onnx import TensorProto, helper, save

    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["scores"])], "means",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, 32, 32])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", 3])])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_a_user_onnx_model_defaults_to_exact(tmp_path):
    path = _tiny_onnx(str(tmp_path / "means.onnx"))
    assert resolve_model(path).preprocess.decode == "exact"
    assert resolve_model(path, decode="fast").preprocess.decode == "fast"
    card = tmp_path / "card.toml"
    card.write_text('decode = "fast"\n')
    assert resolve_model(path, model_config=str(card)).preprocess.decode == "fast"


# --------------------------------------------------------------------------- resume

def test_resume_refuses_another_decode_mode(tmp_path):
    out = str(tmp_path)
    write_run_info(out, run_info("classify", "catdog", "parquet", False, "fast"))
    check_run_info(out, run_info("classify", "catdog", "parquet", False, "fast"))
    with pytest.raises(ConfigError, match=r"decoded with decode='fast' and this run asks for "
                                          r"decode='exact'.*Rerun with `decode` fast"):
        check_run_info(out, run_info("classify", "catdog", "parquet", False, "exact"))


def test_an_output_recorded_before_decode_modes_was_fast(tmp_path):
    out = str(tmp_path)
    with open(tmp_path / RUN_INFO, "w") as fh:  # what earlier versions wrote
        json.dump({"task": "classify", "model": "m", "format": "parquet",
                   "label_true": False}, fh)
    check_run_info(out, run_info("classify", "m", "parquet", False, "fast"))
    with pytest.raises(ConfigError, match=r"decode='fast'.*decode='exact'"):
        check_run_info(out, run_info("classify", "m", "parquet", False, "exact"))


# ------------------------------------------------------ Hugging Face, large JPEGs

LABELS = {0: "red", 1: "green", 2: "blue"}


def _vit_folder(root, name: str, processor) -> str:
    transformers = need("transformers", "hf")
    torch = need("torch", "torch")
    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=37, num_labels=3, id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()})
    folder = root / name
    transformers.ViTForImageClassification(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def large_jpeg_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("large")
    paths = []
    for i, size in enumerate(((2300, 1700), (1900, 2300), (2001, 2300))):
        path = root / f"photo-{i}.jpg"
        path.write_bytes(encode(drawn_image(20 + i, size), quality=90))
        paths.append(str(path))
    return paths


def _pipeline_scores(folder: str, paths: list[str]) -> list[dict[str, float]]:
    transformers = need("transformers", "hf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the PIL image processor warns that torchvision is absent
        pipe = transformers.pipeline("image-classification", model=folder)
    return [{d["label"]: d["score"] for d in pipe(p, top_k=None)} for p in paths]


def _check_against_pipeline(folder: str, paths: list[str]) -> None:
    from sparkvision.executor import predict_frame

    spec = resolve_model(folder)
    assert spec.preprocess.decode == "exact"
    ours = predict_frame(paths, spec, batch_size=2)
    assert ours["error"].isna().all()
    for scores, theirs in zip(ours["scores"], _pipeline_scores(folder, paths), strict=True):
        expected = np.array([theirs[name] for name in spec.labels])
        np.testing.assert_allclose(scores, expected, atol=1e-4)


def test_a_vit_folder_scores_as_the_pipeline_on_large_jpegs(tmp_path, large_jpeg_files):
    transformers = need("transformers", "hf")
    folder = _vit_folder(tmp_path, "vit", transformers.ViTImageProcessor(
        size={"height": 32, "width": 32}))
    _check_against_pipeline(folder, large_jpeg_files)


def test_a_clip_style_processor_scores_as_the_pipeline(tmp_path, large_jpeg_files):
    """Shortest edge, then a center crop, bicubic, CLIP's mean and std."""
    transformers = need("transformers", "hf")
    folder = _vit_folder(tmp_path, "clip-style", transformers.CLIPImageProcessor(
        size={"shortest_edge": 37}, crop_size={"height": 32, "width": 32}))
    pre = resolve_model(folder).preprocess
    assert (pre.resize, pre.size, pre.crop, pre.interpolation) == (37, 32, "center", "bicubic")
    _check_against_pipeline(folder, large_jpeg_files)


def test_an_old_processor_config_takes_its_class_defaults(tmp_path, large_jpeg_files):
    """``size: 37`` in a CLIP feature-extractor config is a shortest edge, not a square;
    its rescale factor is the class default."""
    transformers = need("transformers", "hf")
    folder = _vit_folder(tmp_path, "clip-old", transformers.CLIPImageProcessor())
    (tmp_path / "clip-old" / "preprocessor_config.json").write_text(json.dumps({
        "feature_extractor_type": "CLIPFeatureExtractor", "size": 37, "crop_size": 32,
        "do_center_crop": True, "do_normalize": True, "do_resize": True, "resample": 1,
        "image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.25, 0.3]}))
    pre = resolve_model(folder).preprocess
    assert (pre.resize, pre.size, pre.crop, pre.interpolation) == (37, 32, "center", "lanczos")
    assert pre.scale == pytest.approx(1 / 255)
    _check_against_pipeline(folder, large_jpeg_files[:2])


def test_processor_resample_codes_and_deit_style_crops_map_to_preprocessing():
    from sparkvision.models.loaders.hf_loader import processor_facts

    names = [processor_facts({"size": {"height": 8, "width": 8}, "resample": code},
                             "m")["interpolation"] for code in range(6)]
    assert names == ["nearest", "lanczos", "bilinear", "bicubic", "box", "hamming"]
    deit = processor_facts({"size": {"height": 256, "width": 256}, "do_center_crop": True,
                            "crop_size": {"height": 224, "width": 224}, "image_mean": 0.5,
                            "image_std": [0.2, 0.3, 0.4]}, "m")
    assert (deit["image_size"], deit["resize"], deit["crop"]) == (224, 256, "center")
    assert deit["mean"] == (0.5,) * 3 and deit["std"] == (0.2, 0.3, 0.4)
    with pytest.raises(ModelError, match=r"PIL filter 7; expected one of PIL's codes 0-5"):
        processor_facts({"size": {"height": 8, "width": 8}, "resample": 7}, "m")
