"""Defaults of ``dedup`` that the command line needs without importing Spark or numpy."""

#: Cosine at or above which two images are near duplicates. Measured on near-duplicate
#: sets made by :mod:`.nearset` (docs/dedup.md): the threshold with both precision and
#: recall of the groups at or above 0.97 on real photos.
DEFAULT_THRESHOLD = 0.88

#: How candidate pairs are found (see :mod:`.lsh`).
METHODS = ("banded", "mllib")
