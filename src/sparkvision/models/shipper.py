"""What model resolution needs from a Spark session, without depending on Spark.

:func:`sparkvision.models.resolve_model` takes a :class:`Shipper`: the session's one
(:class:`sparkvision.runtime.shipping.SessionShipper`, made by
:func:`sparkvision.jobs.prepare.prepare_model`) sends model files and code to the
workers; :class:`LocalShipper` serves one process with no session (the ``python``
execution, tests), where every file is read by path.
"""

from __future__ import annotations

from typing import Any, Protocol

from sparkvision.config import SHIP_MODES, one_of
from sparkvision.errors import ConfigError
from sparkvision.storage.model_files import Artifact, Shipped, read_model_bytes


class Shipper(Protocol):
    def ship(self, spec: Any, local: str, how: str) -> tuple[Shipped | Artifact | None, str]:
        """``(shipped, artifact)`` for the spec's model file, of which ``local`` is the
        driver's copy; ``how`` is the ``ship`` option (``auto`` decides)."""

    def add_code(self, path: str) -> None:
        """Make the ``.py``/``.zip`` at ``path`` importable on the workers."""

    def fetch(self, uri: str) -> bytes:
        """The bytes of a model file named by a URI."""


class LocalShipper:
    """No session: the model file is read by path; ``broadcast``/``artifact`` need one."""

    def ship(self, spec: Any, local: str, how: str) -> tuple[Shipped | Artifact | None, str]:
        if one_of("`ship`", how, SHIP_MODES) in ("broadcast", "artifact"):
            raise ConfigError(f"`ship` {how} needs a Spark session to send the model file")
        return None, spec.artifact

    def add_code(self, path: str) -> None:
        pass

    def fetch(self, uri: str) -> bytes:
        return read_model_bytes(uri)
