"""Sinks: result tables and the sort-into-folders copier."""

from sparkvision.sinks.sort import sort_into
from sparkvision.sinks.tables import FORMATS, format_for, write_table

__all__ = ["FORMATS", "format_for", "sort_into", "write_table"]
