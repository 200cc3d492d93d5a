"""Proof that authoring needs no Python.

A brand-new destination ("Ticketly", an invented help-desk API) is written as JSON files only into
a temporary folder: two actions, one of them multi-step with a cached lookup and a conditional
step, plus fixtures. The test loads it, runs its fixtures (library and CLI), and sends events
through it to a small stateful local HTTP server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from engine import DestinationError, load_destination
from engine.testing import run_fixtures

ROOT = Path(__file__).resolve().parents[2]

DESTINATION = {
    "name": "Ticketly",
    "slug": "ticketly",
    "description": "An invented help-desk API, written only to prove authoring needs no Python.",
    "settings": {
        "type": "object",
        "required": ["account", "apiToken"],
        "properties": {
            "account": {"type": "string", "pattern": "^[a-z]+$"},
            "apiToken": {"type": "string", "writeOnly": True},
        },
    },
    "base_url": {"@template": "https://{{ settings.account }}.ticketly.example"},
    "authentication": {
        "scheme": "header",
        "name": "X-Ticketly-Token",
        "value": {"@jmespath": "settings.apiToken"},
    },
    "error_message": "error",
    "test_authentication": {"request": {"method": "GET", "path": ["api", "me"]}},
    "dynamic": {
        "queues": {
            "request": {"method": "GET", "path": ["api", "queues"]},
            "choices": "[].{value: id, label: name}",
        }
    },
}

OPEN_TICKET = {
    "key": "openTicket",
    "title": "Open Ticket",
    "description": "Finds (or creates) the requester, then opens a ticket; tags it when urgent.",
    "default_trigger": 'type = "track" and event = "Support Requested"',
    "fields": {
        "type": "object",
        "required": ["email", "subject", "queue"],
        "properties": {
            "email": {
                "type": "string",
                "format": "email",
                "default": {"@jmespath": "traits.email || properties.email"},
            },
            "subject": {"type": "string", "default": {"@template": "Help with {{ properties.product }}"}},
            "queue": {"type": "string", "x-dynamic": "queues", "default": "general"},
            "urgent": {"type": "boolean", "default": {"@jmespath": "properties.urgent"}},
        },
    },
    "vars": {"who": {"@jmespath": "lower(payload.email)"}},
    "steps": [
        {
            "name": "person",
            "cache": {"ttl": 600},
            "request": {"method": "GET", "path": ["api", "people", {"@jmespath": "vars.who"}]},
            "response": {"errors": {"404": {"kind": "ignore"}}},
        },
        {
            "name": "newPerson",
            "when": "steps.person.status == `404`",
            "request": {
                "method": "POST",
                "path": ["api", "people"],
                "json": {"email": {"@jmespath": "vars.who"}},
            },
        },
        {
            "name": "ticket",
            "request": {
                "method": "POST",
                "path": ["api", "queues", {"@jmespath": "payload.queue"}, "tickets"],
                "json": {
                    "requester": {"@jmespath": "steps.person.body.id || steps.newPerson.body.id"},
                    "subject": {"@jmespath": "payload.subject"},
                },
            },
        },
        {
            "name": "tag",
            "when": "payload.urgent",
            "request": {
                "method": "PUT",
                "path": ["api", "tickets", {"@jmespath": "steps.ticket.body.id"}, "tags", "urgent"],
            },
        },
    ],
    "result": {"@jmespath": "{ticket: steps.ticket.body.id, tagged: steps.tag != `null`}"},
}

CLOSE_TICKET = {
    "key": "closeTicket",
    "title": "Close Ticket",
    "default_trigger": 'type = "track" and event = "Issue Resolved"',
    "fields": {
        "type": "object",
        "required": ["ticketId"],
        "properties": {"ticketId": {"type": "integer", "default": {"@jmespath": "properties.ticket_id"}}},
    },
    "steps": [
        {
            "name": "close",
            "request": {
                "method": "PATCH",
                "path": ["api", "tickets", {"@jmespath": "payload.ticketId"}],
                "json": {"status": "closed"},
            },
            "response": {
                "errors": {
                    "404": {
                        "kind": "permanent",
                        "message": {"@template": "ticket {{ payload.ticketId }} does not exist"},
                    }
                }
            },
        }
    ],
}

SETTINGS = {"account": "demo", "apiToken": "tok-123456"}

FIXTURES = {
    "openTicket/new_requester_urgent": {
        "description": "unknown requester is created, ticket opened and tagged",
        "event": {
            "type": "track",
            "event": "Support Requested",
            "traits": {"email": "Ann@Example.com"},
            "properties": {"product": "Widget", "urgent": "true"},
        },
        "settings": SETTINGS,
        "responses": [
            {"status": 404, "json": {"error": "no such person"}},
            {"status": 201, "json": {"id": 41}},
            {"status": 201, "json": {"id": 900}},
            {"status": 204},
        ],
        "expect": {
            "requests": [
                {"method": "GET", "path": "/api/people/ann@example.com"},
                {"method": "POST", "path": "/api/people", "json": {"email": "ann@example.com"}},
                {
                    "method": "POST",
                    "path": "/api/queues/general/tickets",
                    "json": {"requester": 41, "subject": "Help with Widget"},
                },
                {"method": "PUT", "path": "/api/tickets/900/tags/urgent"},
            ],
            "result": {"ticket": 900, "tagged": True},
        },
    },
    "openTicket/bad_email": {
        "event": {"type": "track", "traits": {"email": "not-an-email"}, "properties": {"product": "X"}},
        "settings": SETTINGS,
        "expect": {"requests": [], "error": {"type": "PayloadValidationError", "fields": ["email"]}},
    },
    "closeTicket/missing": {
        "event": {"type": "track", "properties": {"ticket_id": "77"}},
        "settings": SETTINGS,
        "responses": [{"status": 404, "json": {"error": "Not found"}}],
        "expect": {
            "requests": [{"method": "PATCH", "path": "/api/tickets/77", "json": {"status": "closed"}}],
            "error": {"type": "DestinationError", "contains": "ticket 77 does not exist", "status": 404},
        },
    },
}


def write_folder(root: Path) -> Path:
    """Only JSON files: this is all a spec author writes."""
    folder = root / "ticketly"
    (folder / "actions").mkdir(parents=True)
    (folder / "destination.json").write_text(json.dumps(DESTINATION, indent=2))
    for action in (OPEN_TICKET, CLOSE_TICKET):
        (folder / "actions" / f"{action['key']}.json").write_text(json.dumps(action, indent=2))
    for name, case in FIXTURES.items():
        path = folder / "fixtures" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(case, indent=2))
    return folder


class _Ticketly(BaseHTTPRequestHandler):
    """A tiny stateful fake of the invented API: people, tickets, tags."""

    protocol_version = "HTTP/1.1"
    state: dict[str, Any]
    calls: list[str]

    def _reply(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.calls.append(f"{self.command} {self.path}")
        if self.headers.get("X-Ticketly-Token") != "tok-123456":
            return self._reply(401, {"error": "bad token"})
        parts = self.path.strip("/").split("/")
        st = self.state
        if self.command == "GET" and parts == ["api", "me"]:
            return self._reply(200, {"account": "demo"})
        if self.command == "GET" and parts[:2] == ["api", "people"]:
            person = st["people"].get(parts[2])
            return self._reply(200, person) if person else self._reply(404, {"error": "no such person"})
        if self.command == "POST" and parts == ["api", "people"]:
            person = {"id": len(st["people"]) + 1, "email": body["email"]}
            st["people"][body["email"]] = person
            return self._reply(201, person)
        if self.command == "POST" and parts[:2] == ["api", "queues"] and parts[3] == "tickets":
            ticket = {
                "id": 1000 + len(st["tickets"]),
                "queue": parts[2],
                **body,
                "status": "open",
                "tags": [],
            }
            st["tickets"][ticket["id"]] = ticket
            return self._reply(201, ticket)
        if self.command == "PUT" and parts[:2] == ["api", "tickets"] and parts[3] == "tags":
            st["tickets"][int(parts[2])]["tags"].append(parts[4])
            return self._reply(204)
        if self.command == "PATCH" and parts[:2] == ["api", "tickets"]:
            ticket = st["tickets"].get(int(parts[2]))
            if ticket is None:
                return self._reply(404, {"error": "Not found"})
            ticket.update(body)
            return self._reply(200, ticket)
        return self._reply(400, {"error": f"unexpected {self.command} {self.path}"})

    do_GET = do_POST = do_PUT = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def ticketly() -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    state: dict[str, Any] = {
        "people": {"bob@example.com": {"id": 7, "email": "bob@example.com"}},
        "tickets": {},
    }
    calls: list[str] = []
    handler = type("Handler", (_Ticketly,), {"state": state, "calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state, calls
    finally:
        server.shutdown()
        server.server_close()


def test_fixtures_pass_through_the_library(tmp_path: Path) -> None:
    outcomes = run_fixtures(write_folder(tmp_path))
    assert [o.case.name for o in outcomes] == [
        "closeTicket/missing",
        "openTicket/bad_email",
        "openTicket/new_requester_urgent",
    ]
    assert all(o.ok for o in outcomes), "\n".join(o.report() for o in outcomes)


def test_fixtures_pass_through_the_cli(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    validate = subprocess.run(
        [sys.executable, "-m", "engine", "spec", "validate", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert validate.returncode == 0, validate.stderr
    assert "ok: ticketly: 2 action(s), 3 fixture(s)" in validate.stdout
    test = subprocess.run(
        [sys.executable, "-m", "engine", "spec", "test", str(folder), "--explain"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "3 passed, 0 failed" in test.stdout
    assert "step tag: PUT" in test.stdout and "[cache miss]" in test.stdout


def test_a_broken_fixture_fails(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    case = folder / "fixtures" / "openTicket" / "new_requester_urgent.json"
    data = json.loads(case.read_text())
    data["expect"]["requests"][2]["json"]["subject"] = "something else"
    case.write_text(json.dumps(data))
    outcomes = {o.case.name: o for o in run_fixtures(folder)}
    failed = outcomes["openTicket/new_requester_urgent"]
    assert not failed.ok and "request 3: json" in failed.report()


def test_events_flow_to_a_local_server(
    tmp_path: Path, ticketly: tuple[str, dict[str, Any], list[str]]
) -> None:
    url, state, calls = ticketly
    dest = load_destination(write_folder(tmp_path))
    try:
        dest.test_authentication(SETTINGS, base_url=url)
        event = {
            "type": "track",
            "event": "Support Requested",
            "traits": {"email": "Bob@Example.com"},
            "properties": {"product": "Gadget"},
        }
        first = dest.run_action("openTicket", event, settings=SETTINGS, base_url=url)
        assert first.result == {"ticket": 1000, "tagged": False}
        assert (
            state["tickets"][1000]["requester"] == 7
            and state["tickets"][1000]["subject"] == "Help with Gadget"
        )

        urgent = {**event, "properties": {"product": "Gadget", "urgent": True}}
        second = dest.run_action("openTicket", urgent, settings=SETTINGS, base_url=url)
        assert second.result == {"ticket": 1001, "tagged": True}
        assert state["tickets"][1001]["tags"] == ["urgent"]
        assert [r.step for r in second.requests] == ["ticket", "tag"]  # the person lookup came from the cache

        newcomer = {"type": "track", "traits": {"email": "new@example.com"}, "properties": {"product": "Z"}}
        third = dest.run_action("openTicket", newcomer, settings=SETTINGS, base_url=url)
        assert [r.step for r in third.requests] == ["person", "newPerson", "ticket"]
        assert state["people"]["new@example.com"]["id"] == 2

        closed = dest.run_action(
            "closeTicket", {"properties": {"ticket_id": 1000}}, settings=SETTINGS, base_url=url
        )
        assert closed.requests[0].status == 200 and state["tickets"][1000]["status"] == "closed"
        with pytest.raises(DestinationError, match="ticket 5 does not exist"):
            dest.run_action("closeTicket", {"properties": {"ticket_id": 5}}, settings=SETTINGS, base_url=url)
        assert "tok-123456" not in json.dumps(
            [first.to_dict(), second.to_dict(), third.to_dict()], default=str
        )
    finally:
        dest.close()
    assert calls[0] == "GET /api/me"
