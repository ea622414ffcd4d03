"""What a ``dedup`` run tells its user, printed and written as ``_summary.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class DedupSummary:
    inputs: int
    ok: int
    failed: int
    failed_by_kind: dict[str, int]
    groups: int
    exact_groups: int
    duplicates: int
    exact: int
    near: int
    threshold: float
    seconds: float
    images_per_s: float
    output: str
    format: str
    model: str
    method: str
    rounds: int = 0
    embedded: int = 0
    vectors: str | None = None
    engine: str = "auto"
    precision: str = "fp32"
    execution: str = "iterator"
    batch_size: int = 32
    master: str | None = None
    moved_to: str | None = None
    move_counts: dict[str, int] = field(default_factory=dict)
    #: seconds per stage: files (read and hash), embeddings, pairs (LSH), components, write
    stage_seconds: dict[str, float] = field(default_factory=dict)
    task: str = "dedup"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def render(self) -> str:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.stage_seconds.items())
        lines = [
            f"images: {self.inputs}   ok: {self.ok}   failed: {self.failed}   "
            f"time: {self.seconds:.1f} s   throughput: {self.images_per_s:.1f} img/s",
        ] + ([f"  stages: {stages}"] if stages else [])
        lines += [f"  failed ({k}): {v}" for k, v in sorted(self.failed_by_kind.items())]
        lines.append(
            f"groups: {self.groups} ({self.exact_groups} of exact copies only)   "
            f"duplicates: {self.duplicates} (exact {self.exact}, near {self.near})   "
            f"threshold: cosine >= {self.threshold}"
        )
        source = f"vectors from {self.vectors}, " if self.vectors else ""
        lines.append(f"embeddings: {source}{self.embedded} computed with {self.model}")
        lines.append(f"results: {self.output} ({self.format}); failed files in "
                     f"{self.output.rstrip('/')}/_failed")
        if self.moved_to:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(self.move_counts.items()))
            lines.append(f"duplicates moved into: {self.moved_to} ({counts or 'nothing'}); "
                         "manifest in _manifest.csv")
        return "\n".join(lines)
