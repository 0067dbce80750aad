"""Shared test helpers."""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest


def need_extra(module: str, extra: str) -> Any:
    """Import a module of an optional extra. Without it the test is skipped, except under
    ``PTENV_REQUIRE_EXTRAS=1`` (set by ``make check``, which the README's test command and CI run
    after installing every extra): there a missing extra fails instead of passing as a skip."""
    if os.environ.get("PTENV_REQUIRE_EXTRAS") == "1":
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"the {extra} extra is not installed")
