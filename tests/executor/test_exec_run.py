"""Running actions over real HTTP against a canned local server: requests, auth, errors, cache."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from engine import (
    AuthenticationError,
    DestinationError,
    MemoryCache,
    PayloadValidationError,
    RetryableError,
    load_destination,
)
from engine.errors import ConfigError
from engine.testing.server import CannedServer
from tests.executor.conftest import SETTINGS, SpecWriter, base_destination, simple_action

EVENT = {
    "type": "track",
    "event": "Bought",
    "traits": {"email": "a+b@x.com"},
    "properties": {"amount": "12.5"},
}


def _lookup_action() -> dict[str, Any]:
    """Cached lookup, conditional create, then the write that needs the id."""
    return simple_action(
        key="upsert",
        vars={"who": {"@jmespath": "lower(payload.email)"}},
        steps=[
            {
                "name": "find",
                "cache": {"ttl": 60},
                "request": {"method": "GET", "path": ["people", {"@jmespath": "vars.who"}]},
                "response": {"errors": {"404": {"kind": "ignore"}}},
            },
            {
                "name": "create",
                "when": "steps.find.status == `404`",
                "request": {
                    "method": "POST",
                    "path": ["people"],
                    "json": {"email": {"@jmespath": "vars.who"}},
                },
            },
            {
                "name": "note",
                "request": {
                    "method": "POST",
                    "path": ["people", {"@jmespath": "steps.find.body.id || steps.create.body.id"}, "notes"],
                    "query": {"src": "engine", "skip": {"@jmespath": "payload.nothing"}},
                    "json": {"amount": {"@jmespath": "payload.amount"}},
                },
                "response": {
                    "errors": {
                        "409": {
                            "kind": "permanent",
                            "message": {"@template": "duplicate note for {{ vars.who }}"},
                        }
                    }
                },
            },
        ],
        result={"@jmespath": "{id: steps.note.body.id, created: steps.create != `null`}"},
    )


@pytest.fixture
def dest(write_spec: SpecWriter) -> Any:
    d = load_destination(write_spec(actions=[simple_action(), _lookup_action()]))
    yield d
    d.close()


def test_run_sends_encoded_path_coerced_json_and_basic_auth(dest: Any, server: CannedServer) -> None:
    server.push({"status": 201, "json": {"ok": True}})
    result = dest.run_action("track", EVENT, settings=SETTINGS, base_url=server.url)
    (req,) = server.requests
    assert req.method == "POST" and req.path == "/v1/people/a%2Bb@x.com/events"
    assert req.json == {"amount": 12.5}
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"u1:hunter2-secret").decode()
    assert result.payload == {"email": "a+b@x.com", "amount": 12.5}
    assert result.result == {"ok": True}
    assert [(r.method, r.url, r.json, r.status) for r in result.requests] == [
        ("POST", f"{server.url}/v1/people/a%2Bb@x.com/events", {"amount": 12.5}, 201)
    ]


def test_async_run_matches_sync(dest: Any, server: CannedServer) -> None:
    server.push({"status": 201, "json": {"ok": 1}})

    async def go() -> Any:
        try:
            return await dest.arun_action("track", EVENT, settings=SETTINGS, base_url=server.url)
        finally:
            await dest.aclose()

    result = asyncio.run(go())
    assert result.result == {"ok": 1}
    assert server.requests[0].path == "/v1/people/a%2Bb@x.com/events"


def test_async_runs_concurrently(dest: Any, server: CannedServer) -> None:
    for _ in range(8):
        server.push({"status": 200, "json": {}, "delay": 0.2})

    async def go() -> list[Any]:
        try:
            return await asyncio.gather(
                *(dest.arun_action("track", EVENT, settings=SETTINGS, base_url=server.url) for _ in range(8))
            )
        finally:
            await dest.aclose()

    loop_start = asyncio.new_event_loop()
    try:
        import time

        t0 = time.perf_counter()
        results = loop_start.run_until_complete(go())
        elapsed = time.perf_counter() - t0
    finally:
        loop_start.close()
    assert len(results) == 8 and elapsed < 1.2  # eight 0.2 s answers overlap


def test_multi_step_with_condition_and_result(dest: Any, server: CannedServer) -> None:
    server.reset(
        [
            {"status": 404, "json": {"message": "no such person"}},
            {"status": 201, "json": {"id": 77}},
            {"status": 201, "json": {"id": 5}},
        ]
    )
    result = dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", "/people/a%2Bb@x.com"),
        ("POST", "/people"),
        ("POST", "/people/77/notes"),
    ]
    assert server.requests[2].query == {"src": "engine"}  # the null query value is left out
    assert result.result == {"id": 5, "created": True}
    kinds = [(e["kind"], e.get("step")) for e in result.trace]
    assert ("field", None) in kinds and ("var", None) in kinds and ("result", None) in kinds


def test_cached_lookup_saves_a_request(dest: Any, server: CannedServer) -> None:
    server.reset(
        [
            {"status": 200, "json": {"id": 3}},
            {"status": 201, "json": {"id": 1}},
            {"status": 201, "json": {"id": 2}},
        ]
    )
    dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    second = dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    assert [r.method for r in server.requests] == ["GET", "POST", "POST"]
    assert [r.step for r in second.requests] == ["note"]
    assert any(e.get("cache") == "hit" for e in second.trace)
    assert second.result == {"id": 2, "created": False}


def test_cache_is_keyed_on_settings(dest: Any, server: CannedServer) -> None:
    server.reset([{"status": 200, "json": {"id": 3}}, {"status": 201, "json": {}}] * 2)
    dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    dest.run_action("upsert", EVENT, settings={**SETTINGS, "user": "other"}, base_url=server.url)
    assert [r.method for r in server.requests] == ["GET", "POST", "GET", "POST"]


def test_cache_entry_expires(write_spec: SpecWriter, server: CannedServer) -> None:
    now = [0.0]
    dest = load_destination(write_spec(actions=[_lookup_action()]), cache=MemoryCache(clock=lambda: now[0]))
    server.reset([{"status": 200, "json": {"id": 3}}, {"status": 201, "json": {}}] * 2)
    dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    now[0] = 61.0
    dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    assert [r.method for r in server.requests] == ["GET", "POST", "GET", "POST"]


def test_404_after_cache_hit_invalidates_and_retries_once(dest: Any, server: CannedServer) -> None:
    server.reset([{"status": 200, "json": {"id": 3}}, {"status": 201, "json": {"id": 1}}])
    dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    # The cached person 3 was deleted meanwhile: the note gets a 404, so the run drops the
    # cache entry and starts over: a fresh lookup, a create, the note.
    server.reset(
        [
            {"status": 404, "json": {"message": "gone"}},
            {"status": 404, "json": {}},
            {"status": 201, "json": {"id": 8}},
            {"status": 201, "json": {"id": 9}},
        ]
    )
    result = dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/people/3/notes"),
        ("GET", "/people/a%2Bb@x.com"),
        ("POST", "/people"),
        ("POST", "/people/8/notes"),
    ]
    assert result.result == {"id": 9, "created": True}
    assert any(e["kind"] == "retry" for e in result.trace)
    assert len(result.requests) == 4


def test_second_404_is_not_retried_again(dest: Any, server: CannedServer) -> None:
    server.reset([{"status": 200, "json": {"id": 3}}, {"status": 201, "json": {}}])
    dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    server.reset(
        [
            {"status": 404, "json": {}},
            {"status": 200, "json": {"id": 3}},
            {"status": 404, "json": {"message": "still gone"}},
        ]
    )
    with pytest.raises(DestinationError) as info:
        dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    assert info.value.status == 404 and info.value.step == "note" and "still gone" in str(info.value)
    assert len(info.value.requests) == 3 and len(server.requests) == 3


@pytest.mark.parametrize(
    ("status", "error", "headers", "retry_after"),
    [
        (401, AuthenticationError, {}, None),
        (403, AuthenticationError, {}, None),
        (429, RetryableError, {"Retry-After": "7"}, 7.0),
        (429, RetryableError, {"X-RateLimit-Reset": "30"}, 30.0),
        (503, RetryableError, {}, None),
        (408, RetryableError, {}, None),
        (400, DestinationError, {}, None),
    ],
)
def test_response_classification(
    dest: Any,
    server: CannedServer,
    status: int,
    error: type,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    server.push({"status": status, "json": {"error": {"message": f"api says {status}"}}, "headers": headers})
    with pytest.raises(error) as info:
        dest.run_action("track", EVENT, settings=SETTINGS, base_url=server.url)
    exc = info.value
    assert type(exc) is error
    assert (exc.action, exc.step, exc.status) == ("track", "send", status)
    assert exc.api_message == f"api says {status}" and f"api says {status}" in str(exc)
    assert len(exc.requests) == 1 and exc.requests[0].status == status
    assert getattr(exc, "retry_after", None) == retry_after
    assert "hunter2-secret" not in str(exc)


def test_plain_text_error_body_is_the_message(dest: Any, server: CannedServer) -> None:
    server.push({"status": 422, "text": "Unprocessable thing"})
    with pytest.raises(DestinationError, match="Unprocessable thing"):
        dest.run_action("track", EVENT, settings=SETTINGS, base_url=server.url)


def test_spec_error_rule_overrides_message(dest: Any, server: CannedServer) -> None:
    server.reset([{"status": 200, "json": {"id": 3}}, {"status": 409, "json": {"message": "conflict"}}])
    with pytest.raises(DestinationError) as info:
        dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url)
    assert "duplicate note for a+b@x.com" in str(info.value) and info.value.api_message == "conflict"


def test_connection_refused_is_retryable(dest: Any) -> None:
    with CannedServer() as srv:
        url = srv.url
    with pytest.raises(RetryableError) as info:
        dest.run_action("track", EVENT, settings=SETTINGS, base_url=url)
    assert info.value.status is None and "connection failed" in str(info.value)


def test_timeout_is_retryable(write_spec: SpecWriter, server: CannedServer) -> None:
    dest = load_destination(write_spec(destination=base_destination(timeout=0.2)))
    server.push({"status": 200, "json": {}, "delay": 1.0})
    with pytest.raises(RetryableError, match=r"no response within 0\.2s"):
        dest.run_action("track", EVENT, settings=SETTINGS, base_url=server.url)


def test_invalid_payload_sends_nothing_and_lists_every_problem(dest: Any, server: CannedServer) -> None:
    event = {"type": "track", "properties": {"amount": "yes"}}
    with pytest.raises(PayloadValidationError) as info:
        dest.run_action("track", event, settings=SETTINGS, base_url=server.url)
    assert set(info.value.fields) >= {"email", "amount"}
    assert info.value.action == "track" and info.value.requests == []
    assert server.requests == []


@pytest.mark.parametrize("event", [None, "track", 42, ["type", "track"]])
def test_event_must_be_an_object(dest: Any, server: CannedServer, event: Any) -> None:
    with pytest.raises(PayloadValidationError):
        dest.run_action("track", event, settings=SETTINGS, base_url=server.url)
    assert server.requests == []


def test_mapping_overrides_default_and_wrong_type_is_reported(dest: Any, server: CannedServer) -> None:
    with pytest.raises(PayloadValidationError) as info:
        dest.run_action(
            "track",
            EVENT,
            settings=SETTINGS,
            mapping={"amount": {"@jmespath": "traits"}},
            base_url=server.url,
        )
    assert info.value.fields == ["amount"]
    server.push({"status": 200, "json": {}})
    result = dest.run_action("track", EVENT, settings=SETTINGS, mapping={"amount": "42"}, base_url=server.url)
    assert result.payload["amount"] == 42 and server.requests[0].json == {"amount": 42}


def test_validate_assertion(write_spec: SpecWriter, server: CannedServer) -> None:
    action = simple_action(
        validate=[{"assert": "payload.amount > `0`", "message": "must be positive", "field": "amount"}]
    )
    dest = load_destination(write_spec(actions=[action]))
    with pytest.raises(PayloadValidationError) as info:
        dest.run_action(
            "track",
            {"traits": {"email": "a@b.co"}, "properties": {"amount": -1}},
            settings=SETTINGS,
            base_url=server.url,
        )
    assert info.value.problems[0].field == "amount" and "must be positive" in str(info.value)
    assert server.requests == []


def test_invalid_settings_are_refused_without_leaking(dest: Any, server: CannedServer) -> None:
    with pytest.raises(ConfigError) as info:
        dest.run_action("track", EVENT, settings={"user": "u", "password": 123456789}, base_url=server.url)
    assert info.value.path == "$.settings.password"
    assert "123456789" not in str(info.value)
    with pytest.raises(ConfigError, match="password"):
        dest.run_action("track", EVENT, settings={"user": "u"}, base_url=server.url)
    assert server.requests == []


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        (
            {"scheme": "bearer", "token": {"@jmespath": "settings.password"}},
            "authorization",
            "Bearer hunter2-secret",
        ),
        (
            {"scheme": "header", "name": "X-Api-Key", "value": {"@jmespath": "settings.password"}},
            "x-api-key",
            "hunter2-secret",
        ),
    ],
)
def test_auth_scheme_is_a_spec_change(
    write_spec: SpecWriter, server: CannedServer, auth: dict[str, Any], header: str, value: str
) -> None:
    dest = load_destination(write_spec(destination=base_destination(authentication=auth)))
    server.push({"status": 200, "json": {}})
    dest.run_action("track", EVENT, settings=SETTINGS, base_url=server.url)
    assert server.requests[0].headers[header] == value


def test_secrets_are_masked_in_results_and_traces(write_spec: SpecWriter, server: CannedServer) -> None:
    action = simple_action()
    action["steps"][0]["request"]["json"] = {"sig": {"@template": "key={{ settings.password }}"}}
    dest = load_destination(write_spec(actions=[action]))
    server.push({"status": 200, "json": {"echo": "hunter2-secret"}})
    result = dest.run_action("track", EVENT, settings=SETTINGS, base_url=server.url)
    assert server.requests[0].json == {"sig": "key=hunter2-secret"}  # the API gets the real value
    text = repr(result.to_dict())
    assert "hunter2-secret" not in text and "key=***" in text
    planned = dest.plan("track", EVENT, settings=SETTINGS)
    assert planned[0].json == {"sig": "key=***"}
    assert dest.mask_secrets({"a": ["x hunter2-secret y"]}, SETTINGS) == {"a": ["x *** y"]}


def test_plan_shows_dependencies_without_sending(dest: Any, server: CannedServer) -> None:
    planned = dest.plan("upsert", EVENT, settings=SETTINGS)
    assert [p.step for p in planned] == ["find", "create", "note"]
    assert planned[0].url == "https://unused.example/people/a%2Bb@x.com" and planned[0].depends_on == ()
    assert "find" in planned[1].condition
    assert planned[2].url == "https://unused.example/people/<steps.find.body.id>/notes"
    assert planned[2].depends_on == ("find",)
    assert server.requests == []


def test_limiter_is_asked_before_every_request(dest: Any, server: CannedServer) -> None:
    class Counter:
        def __init__(self) -> None:
            self.calls = 0

        def acquire(self) -> None:
            self.calls += 1

        async def aacquire(self) -> None:
            self.calls += 1

    limiter = Counter()
    server.reset(
        [{"status": 200, "json": {"id": 3}}, {"status": 201, "json": {}}, {"status": 201, "json": {}}]
    )
    dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url, limiter=limiter)
    dest.run_action("upsert", EVENT, settings=SETTINGS, base_url=server.url, limiter=limiter)
    assert limiter.calls == 3  # the cache hit makes no request and takes no budget


def test_one_pooled_client_per_instance(dest: Any, server: CannedServer) -> None:
    server.reset([{"status": 200, "json": {}}] * 3)
    for _ in range(2):
        dest.run_action("track", EVENT, settings=SETTINGS, base_url=server.url)
    dest.run_action("track", EVENT, settings={**SETTINGS, "password": "other-secret"}, base_url=server.url)
    assert len(dest._transport._sync) == 2


def test_unknown_action(dest: Any) -> None:
    from engine.errors import SpecError

    with pytest.raises(SpecError, match="unknown action 'nope'"):
        dest.run_action("nope", EVENT, settings=SETTINGS)


def test_base_url_from_settings(dest: Any, tmp_path: Path) -> None:
    planned = dest.plan("track", EVENT, settings={**SETTINGS, "host": "api.example.org"})
    assert planned[0].url.startswith("https://api.example.org/v1/people/")


def test_threads_share_one_destination(dest: Any, server: CannedServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from engine.testing.server import CannedResponse

    server.fallback = CannedResponse(status=200, json={"ok": True}, has_json=True)

    def one(i: int) -> Any:
        event = {"traits": {"email": f"user{i}@x.com"}, "properties": {"amount": i}}
        settings = {**SETTINGS, "user": f"account{i % 3}"}
        return dest.run_action("track", event, settings=settings, base_url=server.url)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(40)))
    assert [r.payload["amount"] for r in results] == list(range(40))
    assert sorted(r.path for r in server.requests) == sorted(
        f"/v1/people/user{i}@x.com/events" for i in range(40)
    )
    assert len(dest._transport._sync) == 3  # one pooled client per account
