"""Inputs: everything a user may point at, turned into one table of images."""

from sparkvision.sources.cluster_listing import list_inputs
from sparkvision.sources.frames import input_column, paths_frame
from sparkvision.storage.listing import label_from_path, resolve_inputs

__all__ = ["input_column", "label_from_path", "list_inputs", "paths_frame", "resolve_inputs"]
