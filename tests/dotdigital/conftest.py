"""Shared fixtures: one demo-seeded sandbox per module, a fresh destination (and cache) per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

SETTINGS = {"region": "r1", "username": "demo@apiconnector.com", "password": "demo-password"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    sandbox_mod = pytest.importorskip("engine.sandbox")
    with sandbox_mod.Sandbox(seed="demo") as sb:
        yield sb


@pytest.fixture()
def sb(sandbox: Any) -> Any:
    """The module's sandbox, reset to the demo seed before each test."""
    sandbox.reset()
    return sandbox


@pytest.fixture()
def dest(sb: Any) -> Iterator[Any]:
    """A freshly loaded Dotdigital destination with its own in-memory cache."""
    engine = pytest.importorskip("engine")
    if not hasattr(engine, "load_destination"):
        pytest.skip("executor not merged yet")
    destination = engine.load_destination("dotdigital")
    try:
        yield destination
    finally:
        destination.close()
