"""Shared helpers: write a spec folder from dicts, and a canned local HTTP server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.testing.server import CannedServer

SpecWriter = Callable[..., Path]


def base_destination(**over: Any) -> dict[str, Any]:
    dest: dict[str, Any] = {
        "name": "Acme CRM",
        "slug": "acme",
        "settings": {
            "type": "object",
            "required": ["user", "password"],
            "properties": {
                "user": {"type": "string"},
                "password": {"type": "string", "writeOnly": True},
                "host": {"type": "string"},
            },
        },
        "base_url": {"@template": "https://{{ settings.host }}"},
        "authentication": {
            "scheme": "basic",
            "username": {"@jmespath": "settings.user"},
            "password": {"@jmespath": "settings.password"},
        },
        "error_message": "error.message || message",
        "timeout": 2,
    }
    dest.update(over)
    return dest


def simple_action(**over: Any) -> dict[str, Any]:
    action: dict[str, Any] = {
        "key": "track",
        "title": "Track",
        "default_trigger": 'type = "track"',
        "fields": {
            "type": "object",
            "required": ["email"],
            "properties": {
                "email": {"type": "string", "default": {"@jmespath": "traits.email || properties.email"}},
                "amount": {"type": "number", "default": {"@jmespath": "properties.amount"}},
            },
        },
        "steps": [
            {
                "name": "send",
                "request": {
                    "method": "POST",
                    "path": ["v1", "people", {"@jmespath": "payload.email"}, "events"],
                    "json": {"amount": {"@jmespath": "payload.amount"}},
                },
            }
        ],
        "result": {"@jmespath": "steps.send.body"},
    }
    action.update(over)
    return action


SETTINGS = {"user": "u1", "password": "hunter2-secret", "host": "unused.example"}


def _write(folder: Path, name: str, data: Any) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))


@pytest.fixture
def write_spec(tmp_path: Path) -> SpecWriter:
    """``write_spec(destination=..., actions=[...], fixtures={"key/case": {...}})`` → folder."""
    counter = iter(range(1000))

    def write(
        destination: Any = None,
        actions: list[Any] | None = None,
        fixtures: dict[str, Any] | None = None,
        raw_actions: dict[str, str] | None = None,
    ) -> Path:
        folder = tmp_path / f"spec{next(counter)}"
        folder.mkdir()
        _write(folder, "destination.json", destination if destination is not None else base_destination())
        for action in actions if actions is not None else [simple_action()]:
            _write(folder, f"actions/{action['key']}.json", action)
        for name, text in (raw_actions or {}).items():
            _write(folder, f"actions/{name}.json", text)
        for name, data in (fixtures or {}).items():
            _write(folder, f"fixtures/{name}.json", data)
        return folder

    return write


@pytest.fixture
def server() -> Iterator[CannedServer]:
    with CannedServer() as srv:
        yield srv
