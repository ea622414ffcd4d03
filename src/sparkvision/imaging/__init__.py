"""Decoding and preprocessing: the one implementation every execution path uses."""

from sparkvision.imaging.decode import ImageProblem, decode_image, image_from_pixels
from sparkvision.imaging.preprocess import prepare, prepare_batch, prepare_pixels, to_array

__all__ = [
    "ImageProblem", "decode_image", "image_from_pixels", "prepare", "prepare_batch",
    "prepare_pixels", "to_array",
]
