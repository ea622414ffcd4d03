"""Inputs: everything a user may point at, turned into one table of images."""

from .files import label_from_path, resolve_inputs
from .frames import input_column, paths_frame

__all__ = ["input_column", "label_from_path", "paths_frame", "resolve_inputs"]
