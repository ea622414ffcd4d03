"""Defaults of ``dedup`` that the command line needs without importing Spark or numpy."""

#: Cosine at or above which two images are near duplicates. Measured on near-duplicate
#: sets made by :mod:`.nearset` from real photos (docs/dedup.md): the highest precision
#: that keeps recall at or above 0.9, and two photos of one subject taken side by side
#: (a stereo pair, cosine 0.90) apart.
DEFAULT_THRESHOLD = 0.9

#: How candidate pairs are found (see :mod:`.lsh`).
METHODS = ("banded", "mllib")
