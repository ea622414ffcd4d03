"""The installed version, in one place that imports nothing else."""

__version__ = "0.2.0"
