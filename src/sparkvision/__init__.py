"""sparkvision: deep-learning image models over image collections of any size, on Spark.

>>> import sparkvision as sv
>>> sorted(sv.list_models())[:2]
['catdog', 'efficientnet-lite0']
"""

from sparkvision._version import __version__
from sparkvision.api import classify, embed, predict_udf, search, train
from sparkvision.config import ModelSpec, Preprocess
from sparkvision.errors import (
    ConfigError,
    InputError,
    MissingExtraError,
    ModelError,
    OutputError,
    SparkVisionError,
)
from sparkvision.models import list_models, resolve_model
from sparkvision.options import ModelOptions, ModelRequest, RunConfig, SparkOptions
from sparkvision.train.training import TrainedModel

__all__ = [
    "ConfigError",
    "InputError",
    "MissingExtraError",
    "ModelError",
    "ModelOptions",
    "ModelRequest",
    "ModelSpec",
    "OutputError",
    "Preprocess",
    "RunConfig",
    "SparkOptions",
    "SparkVisionError",
    "TrainedModel",
    "__version__",
    "classify",
    "embed",
    "list_models",
    "predict_udf",
    "resolve_model",
    "search",
    "train",
]
