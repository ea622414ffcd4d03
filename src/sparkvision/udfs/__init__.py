"""Spark UDFs over the shared executor code."""

from .iterator import iterator_udf

__all__ = ["iterator_udf"]
