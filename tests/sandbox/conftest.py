"""One sandbox per test module (starting uvicorn costs ~50 ms), reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from engine.sandbox import DEMO_PASSWORD, DEMO_USER, Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    sandbox.reset()
    sandbox.set_rate_limits(None)
    return sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sb.url, auth=(DEMO_USER, DEMO_PASSWORD), timeout=10) as c:
        yield c
