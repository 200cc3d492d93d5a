"""Tiered rate limits: headers on every response, 429 + Retry-After, per-tier and per-account budgets."""

from __future__ import annotations

import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.sandbox import Sandbox
from engine.sandbox.ratelimit import RateLimitConfig, config_from

RATE_HEADERS = ("x-ratelimit-scope", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def test_no_headers_when_limits_off(client: httpx.Client) -> None:
    r = client.get("/v2/programs")
    assert not any(h in r.headers for h in RATE_HEADERS)


def test_headers_and_429_per_tier(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_rate_limits({"low": 2, "medium": 5, "high": 3})
    first = client.get("/v2/address-books")
    assert first.headers["x-ratelimit-scope"] == "Low"
    assert first.headers["x-ratelimit-limit"] == "2"
    assert first.headers["x-ratelimit-remaining"] == "1"
    assert 1 <= int(first.headers["x-ratelimit-reset"]) <= 60
    assert client.get("/v2/campaigns").headers["x-ratelimit-remaining"] == "0"
    over = client.get("/v2/programs")
    assert over.status_code == 429
    assert over.headers["x-ratelimit-remaining"] == "0"
    assert int(over.headers["retry-after"]) == int(over.headers["x-ratelimit-reset"])
    assert over.json()["message"].endswith("ERROR_RATE_LIMIT_EXCEEDED")
    # Other tiers keep their own budgets; errors (404) count too; the v3 429 has the v3 shape.
    assert client.get("/v2/data-fields").headers["x-ratelimit-scope"] == "Medium"
    for _ in range(3):
        assert client.get("/contacts/v3/email/nobody@example.com").status_code == 404
    r = client.get("/contacts/v3/email/alice@example.com")
    assert r.status_code == 429 and r.json()["errorCode"] == "contacts:rateLimitExceeded"
    assert client.post("/cpaas/messages", json={}).status_code == 429
    assert [e["status"] for e in sb.requests][-2:] == [429, 429]


def test_window_resets(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_rate_limits({"low": 1, "window": 0.3})
    assert client.get("/v2/programs").status_code == 200
    assert client.get("/v2/programs").status_code == 429
    time.sleep(0.35)
    assert client.get("/v2/programs").status_code == 200


def test_limits_are_per_account() -> None:
    with Sandbox(users={"a@x.com": "a", "b@x.com": "b"}, rate_limits={"low": 1}) as sb:
        assert httpx.get(sb.url + "/v2/programs", auth=("a@x.com", "a")).status_code == 200
        assert httpx.get(sb.url + "/v2/programs", auth=("a@x.com", "a")).status_code == 429
        assert httpx.get(sb.url + "/v2/programs", auth=("b@x.com", "b")).status_code == 200


def test_config_forms() -> None:
    assert config_from(None) is None and config_from("off") is None and config_from(False) is None
    assert config_from("on") == RateLimitConfig()
    assert config_from(7).budgets == {"Low": 7, "Medium": 7, "High": 7}  # type: ignore[union-attr]
    parsed = config_from("low=5,high=9,window=30,enrolments=off")
    assert parsed is not None
    assert parsed.budgets == {"Low": 5, "Medium": 150, "High": 9}
    assert parsed.window == 30 and parsed.enrolments_per_hour is None
    for bad in ("low", "low=0", "low=x", "speed=1"):
        with pytest.raises(ValueError):
            config_from(bad)


def test_control_endpoint_sets_limits(sb: Sandbox) -> None:
    r = httpx.post(sb.url + "/_sandbox/rate-limits", json={"low": 1})
    assert r.json()["enabled"] is True and r.json()["low"] == 1
    assert httpx.get(sb.url + "/v2/programs", auth=sb.auth).status_code == 200
    assert httpx.get(sb.url + "/v2/programs", auth=sb.auth).status_code == 429
    assert httpx.post(sb.url + "/_sandbox/rate-limits", json=None).json() == {"enabled": False}
    assert httpx.post(sb.url + "/_sandbox/rate-limits", json={"nope": 1}).status_code == 400


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(1, 8), calls=st.integers(0, 14))
def test_property_exactly_budget_calls_succeed(
    client: httpx.Client, sb: Sandbox, budget: int, calls: int
) -> None:
    """Within one window, min(calls, budget) calls pass and remaining counts down to 0."""
    sb.set_rate_limits({"high": budget})
    statuses, remaining = [], []
    for _ in range(calls):
        r = client.get("/contacts/v3/contactId/1")
        statuses.append(r.status_code)
        remaining.append(int(r.headers["x-ratelimit-remaining"]))
    assert statuses.count(200) == min(calls, budget)
    assert statuses == sorted(statuses)  # all successes come before the first 429
    assert remaining == [max(budget - i - 1, 0) for i in range(calls)]


def test_invalid_json_counts_and_carries_headers(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_rate_limits({"high": 1})
    bad = client.patch(
        "/contacts/v3/email/a@example.com", content=b"{", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.headers["x-ratelimit-remaining"] == "0"
    assert client.get("/contacts/v3/contactId/1").status_code == 429
