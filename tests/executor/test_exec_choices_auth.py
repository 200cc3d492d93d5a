"""Dynamic choices with pagination, and test_authentication, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from engine import AuthenticationError, RetryableError, load_destination
from engine.errors import SpecError
from engine.testing.server import CannedServer
from tests.executor.conftest import SETTINGS, SpecWriter, base_destination, simple_action

DYNAMIC = {
    "lists": {
        "request": {"method": "GET", "path": ["v2", "lists"]},
        "paginate": {"style": "offset", "limit_param": "select", "offset_param": "skip", "page_size": 2},
        "choices": "[].{value: to_string(id), label: name}",
    },
    "programs": {
        "request": {"method": "GET", "path": ["v3", "programs"], "query": {"status": "active"}},
        "paginate": {"style": "next_link", "next": "links.next", "items": "data"},
        "choices": "[].{value: id, label: title}",
    },
    "single": {"request": {"method": "GET", "path": ["one"]}, "choices": "items[].{value: k, label: k}"},
}


@pytest.fixture
def dest(write_spec: SpecWriter) -> Any:
    action = simple_action()
    action["fields"]["properties"]["listId"] = {"type": "number", "x-dynamic": "lists"}
    destination = base_destination(
        dynamic=DYNAMIC,
        test_authentication={
            "request": {"method": "GET", "path": ["v2", "me", ""]},
            "errors": {"401": "The user name or password is wrong."},
        },
    )
    d = load_destination(write_spec(destination=destination, actions=[action]))
    yield d
    d.close()


def test_offset_pagination_stops_on_empty_page(dest: Any, server: CannedServer) -> None:
    server.reset(
        [
            {"status": 200, "json": [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}]},
            {"status": 200, "json": [{"id": 3, "name": "C"}]},
            {"status": 200, "json": []},
        ]
    )
    found = dest.choices("listId", SETTINGS, action="track", base_url=server.url)
    assert found == [{"value": "1", "label": "A"}, {"value": "2", "label": "B"}, {"value": "3", "label": "C"}]
    assert [r.query for r in server.requests] == [
        {"select": "2", "skip": "0"},
        {"select": "2", "skip": "2"},
        {"select": "2", "skip": "4"},
    ]


def test_field_name_alone_finds_its_dynamic_source(dest: Any, server: CannedServer) -> None:
    server.reset([{"status": 200, "json": []}])
    assert dest.choices("listId", SETTINGS, base_url=server.url) == []


def test_next_link_pagination(dest: Any, server: CannedServer) -> None:
    server.reset(
        [
            {
                "status": 200,
                "json": {"data": [{"id": "p1", "title": "One"}], "links": {"next": "/v3/programs?page=2"}},
            },
            {"status": 200, "json": {"data": [{"id": "p2", "title": "Two"}], "links": {}}},
        ]
    )
    found = dest.choices("programs", SETTINGS, base_url=server.url)
    assert found == [{"value": "p1", "label": "One"}, {"value": "p2", "label": "Two"}]
    assert [(r.path, r.query) for r in server.requests] == [
        ("/v3/programs", {"status": "active"}),
        ("/v3/programs", {"page": "2"}),
    ]


def test_single_request_choices(dest: Any, server: CannedServer) -> None:
    server.push({"status": 200, "json": {"items": [{"k": "x"}]}})
    assert dest.choices("single", SETTINGS, base_url=server.url) == [{"value": "x", "label": "x"}]
    assert len(server.requests) == 1


def test_choices_error_is_classified(dest: Any, server: CannedServer) -> None:
    server.push({"status": 503, "json": {"message": "down"}})
    with pytest.raises(RetryableError, match="down"):
        dest.choices("lists", SETTINGS, base_url=server.url)


def test_unknown_dynamic_name(dest: Any) -> None:
    with pytest.raises(SpecError, match="no dynamic choices named 'nope'"):
        dest.choices("nope", SETTINGS)


def test_async_choices(dest: Any, server: CannedServer) -> None:
    import asyncio

    server.reset([{"status": 200, "json": [{"id": 1, "name": "A"}]}, {"status": 200, "json": []}])

    async def go() -> Any:
        try:
            return await dest.achoices("lists", SETTINGS, base_url=server.url)
        finally:
            await dest.aclose()

    assert asyncio.run(go()) == [{"value": "1", "label": "A"}]


def test_authentication_ok(dest: Any, server: CannedServer) -> None:
    server.push({"status": 200, "json": []})
    assert dest.test_authentication(SETTINGS, base_url=server.url) is None
    assert server.requests[0].path == "/v2/me/"  # the empty last segment gives the trailing slash
    assert server.requests[0].headers["authorization"].startswith("Basic ")


def test_authentication_refused_uses_spec_message(dest: Any, server: CannedServer) -> None:
    server.push({"status": 401, "json": {"message": "Authorization has been denied"}})
    with pytest.raises(AuthenticationError) as info:
        dest.test_authentication(SETTINGS, base_url=server.url)
    assert "The user name or password is wrong." in str(info.value) and info.value.status == 401
    assert "hunter2-secret" not in str(info.value)


def test_authentication_forbidden_without_rule(dest: Any, server: CannedServer) -> None:
    server.push({"status": 403, "json": {"message": "Forbidden"}})
    with pytest.raises(AuthenticationError, match="Forbidden"):
        dest.test_authentication(SETTINGS, base_url=server.url)


def test_authentication_server_error_is_retryable(dest: Any, server: CannedServer) -> None:
    server.push({"status": 500, "text": "boom"})
    with pytest.raises(RetryableError):
        dest.test_authentication(SETTINGS, base_url=server.url)
