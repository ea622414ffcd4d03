"""Decoding and preprocessing: the one implementation every execution path uses."""

from .decode import ImageProblem, decode_image
from .preprocess import prepare, prepare_batch, to_array

__all__ = ["ImageProblem", "decode_image", "prepare", "prepare_batch", "to_array"]
