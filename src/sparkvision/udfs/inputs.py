"""What a UDF receives -> the items :func:`sparkvision.executor.predict_frame` runs on.

A binary or string column arrives as a ``pd.Series`` (Pandas UDFs) or a plain value (the
row UDF) and its values are the items. Spark's image struct arrives as a pandas DataFrame
with one column per field (Pandas UDFs) or a ``Row`` (row UDF); each image becomes its
decoded pixels, or the problem that stands for its error.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sparkvision.sources.spark_images import image_items, row_item


def batch_items(batch: pd.Series | pd.DataFrame) -> list[Any]:
    """One Pandas UDF batch -> a list of items, in row order."""
    if isinstance(batch, pd.DataFrame):
        return list(image_items(batch))
    return batch.tolist()


def row_value_item(value: Any) -> Any:
    """One row UDF argument -> one item (a struct arrives as a ``Row``, a tuple)."""
    if isinstance(value, tuple):
        return row_item(value)
    return value
