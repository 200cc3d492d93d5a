"""Shared fixtures: a real sandbox on an ephemeral port and configs pointing at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-password"


@pytest.fixture(scope="module")
def _sandbox_server() -> Iterator[Any]:
    from engine.sandbox import Sandbox

    with Sandbox(seed="demo") as sb:
        yield sb


@pytest.fixture
def sandbox(_sandbox_server: Any) -> Any:
    """The demo-seeded sandbox, reset for each test (faults and rate limits off)."""
    _sandbox_server.reset()
    _sandbox_server.set_rate_limits(None)
    _sandbox_server.set_faults()
    return _sandbox_server


def write_config(tmp_path: Path, endpoint: str, *, subscriptions: list[dict[str, Any]] | None = None,
                 **extra: Any) -> Path:
    doc: dict[str, Any] = {
        "destination": "dotdigital",
        "settings": {"region": "r1", "username": "demo@apiconnector.com", "password": "${TEST_DD_PASSWORD}"},
        "endpoint": endpoint,
        "server": {"write_keys": ["wk-test"]},
        "queue": {"path": "queue.sqlite"},
        "delivery": {"max_attempts": 12, "backoff_base": 0.02, "backoff_max": 0.5, "lease_seconds": 5,
                     "concurrency": 8, "batch_size": 20},
        "subscriptions": subscriptions or [
            {"name": "newsletter", "action": "addContactToList",
             "mapping": {"listId": 1001, "emailIdentifier": {"@jmespath": "properties.email"}}},
            {"name": "sms", "action": "sendSms", "mapping": {"message": {"@jmespath": "properties.message"}}},
        ],
    }
    doc.update(extra)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return path


def add_events(n: int, prefix: str = "user") -> list[dict[str, Any]]:
    return [{"type": "track", "event": "Add Contact to List", "userId": f"{prefix}{i}",
             "messageId": f"{prefix}-msg-{i}", "properties": {"email": f"{prefix}{i}@example.com"}}
            for i in range(n)]


def env() -> dict[str, str]:
    return {**os.environ, "TEST_DD_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}


def cli(*args: str, stdin: str | None = None, extra_env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env={**env(), **(extra_env or {})}, timeout=timeout)


def contacts_in_list(state: dict[str, Any], list_id: int) -> set[str]:
    out = set()
    for contact in state["contacts"]:
        ids = [m.get("id") if isinstance(m, dict) else m for m in contact.get("lists", [])]
        if list_id in ids:
            out.add(contact["identifiers"].get("email"))
    return out
