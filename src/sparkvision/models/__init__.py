"""Models: the built-in ones and users', resolved on the driver by one path.

:func:`resolve_model` (in :mod:`.resolve`) turns any model reference into a
:class:`~sparkvision.config.ModelSpec`; :mod:`.registry` builds its engine on the workers.
"""

from __future__ import annotations

from sparkvision.models.builtin.catalog import list_models
from sparkvision.models.resolve import resolve_model

__all__ = ["list_models", "resolve_model"]
