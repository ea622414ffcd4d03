"""Everything that runs inside a task: the per-process model cache and the batch runner."""

from sparkvision.executor.cache import cache_info, clear_cache, get_engine
from sparkvision.executor.runner import predict_frame, result_columns

__all__ = ["cache_info", "clear_cache", "get_engine", "predict_frame", "result_columns"]
