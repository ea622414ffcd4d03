"""A self-contained HTML report of a finished output: run facts, charts, thumbnails."""

from sparkvision.htmlreport.build import write_report

__all__ = ["write_report"]
