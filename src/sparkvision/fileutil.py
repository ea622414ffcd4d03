"""Small file helpers shared by the model cache, model shipping and sorting."""

from __future__ import annotations

import hashlib


def file_sha256(path: str) -> str:
    """Hex sha256 of the file at ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
