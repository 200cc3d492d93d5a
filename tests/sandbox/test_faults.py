"""Injected faults: latency, 500/503 share, dropped connections, fail-next-N rules, determinism."""

from __future__ import annotations

import time

import httpx
import pytest

from engine.sandbox import Sandbox


def test_latency(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_faults(latency=0.2)
    start = time.perf_counter()
    assert client.get("/v2/programs").status_code == 200
    assert time.perf_counter() - start >= 0.2
    sb.set_faults()
    start = time.perf_counter()
    client.get("/v2/programs")
    assert time.perf_counter() - start < 0.2


def test_error_rate_share_and_statuses(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_faults(error_rate=0.5, seed=7)
    statuses = [client.get("/v2/programs").status_code for _ in range(200)]
    failures = [s for s in statuses if s != 200]
    assert set(failures) == {500, 503}
    assert 70 <= len(failures) <= 130
    sb.set_faults(error_rate=1.0, error_statuses=[503])
    r = client.get("/contacts/v3/contactId/1")
    assert r.status_code == 503 and "errorCode" in r.json()
    assert client.get("/v2/programs").json() == {"message": "An error has occurred."}


def test_faults_are_deterministic_per_seed(client: httpx.Client, sb: Sandbox) -> None:
    def run(seed: int) -> list[int]:
        sb.set_faults(error_rate=0.3, seed=seed)
        return [client.get("/v2/programs").status_code for _ in range(40)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_dropped_connection(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/v2/programs")
    sb.set_faults()
    assert client.get("/v2/programs").status_code == 200  # the client reconnects
    assert sb.requests[-2]["status"] is None


def test_fail_next_n_calls_to_an_endpoint(client: httpx.Client, sb: Sandbox) -> None:
    sb.fail_next("POST /v2/programs/enrolments", count=2, status=503, retry_after=7)
    body = {"contacts": [1], "programId": 2001}
    assert client.get("/v2/programs").status_code == 200  # other endpoints unaffected
    first = client.post("/v2/programs/enrolments", json=body)
    assert first.status_code == 503 and first.headers["retry-after"] == "7"
    assert client.post("/v2/programs/enrolments", json=body).status_code == 503
    assert client.post("/v2/programs/enrolments", json=body).status_code == 201
    assert len(sb.state["enrolments"]) == 1  # failed calls changed nothing


def test_fail_next_by_template_glob_and_drop(client: httpx.Client, sb: Sandbox) -> None:
    sb.fail_next("PATCH /contacts/v3/{identifier}/{value}", count=1, status=429)
    assert client.patch("/contacts/v3/email/x@example.com", json={}).status_code == 429
    sb.fail_next("/v2/campaigns*", count=1, status=0)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/v2/campaigns")
    assert client.get("/v2/campaigns").status_code == 200


def test_faults_over_http_control(sb: Sandbox) -> None:
    r = httpx.post(
        sb.url + "/_sandbox/faults",
        json={"fail_next": [{"endpoint": "GET /v2/data-fields", "count": 1, "status": 500}]},
    )
    assert r.status_code == 200 and r.json()["fail_next"][0]["count"] == 1
    assert httpx.get(sb.url + "/v2/data-fields/", auth=sb.auth).status_code == 500
    assert httpx.get(sb.url + "/_sandbox/faults").json()["fail_next"][0]["count"] == 0
    assert httpx.post(sb.url + "/_sandbox/faults", json={"error_rate": 2}).status_code == 400
    assert httpx.post(sb.url + "/_sandbox/faults", json={"bogus": 1}).status_code == 400
    assert httpx.delete(sb.url + "/_sandbox/faults").json()["fail_next"] == []


def test_constructor_faults_survive_reset() -> None:
    rule = {"endpoint": "GET /v2/programs", "count": 1, "status": 502}
    with Sandbox(faults={"fail_next": [rule]}) as sb, httpx.Client(base_url=sb.url, auth=sb.auth) as c:
        assert c.get("/v2/programs").status_code == 502
        assert c.get("/v2/programs").status_code == 200
        sb.reset()  # back to the constructor's faults, rule count restored
        assert c.get("/v2/programs").status_code == 502
    with pytest.raises(ValueError, match="error_rate"):
        Sandbox(faults={"error_rate": -1})
