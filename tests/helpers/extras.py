"""Optional packages in the tests: a test that needs one skips, naming the extra that brings
it, where it is missing (``pip install sparkvision`` alone has no torch, keras, ...).

Tests take the fixtures in tests/conftest.py (``torch``, ``byo_nets``, ``keras``), or call
:func:`need` in their body; a unit test module never imports an optional package at its top.
"""

from __future__ import annotations

import types

import pytest


def need(module: str, extra: str) -> types.ModuleType:
    """``module`` imported, or the test skipped with the install line of ``extra``."""
    return pytest.importorskip(
        module, reason=f"needs the {extra} extra: pip install 'sparkvision[{extra}]'")
