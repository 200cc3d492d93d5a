"""Ingestion over real HTTP: Segment endpoints, write keys, limits, bad input → 4xx and nothing queued."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.runtime.sqlite_queue import SQLiteQueue
from engine.server import create_app
from engine.server.run import ServerThread

KEY = "wk_test_123"


def _route(event: Mapping[str, Any]) -> list[str]:
    """Every event goes to 'all'; tracks also to 'tracks' (a stand-in for the trigger Router)."""
    return ["all", "tracks"] if event.get("type") == "track" else ["all"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, SQLiteQueue]]:
    queue = SQLiteQueue(tmp_path / "q.sqlite")
    app = create_app(route=_route, queue=queue, write_keys=[KEY])
    with ServerThread(app) as srv, httpx.Client(base_url=srv.url, auth=(KEY, ""), timeout=10) as client:
        yield client, queue


def _track(**extra: Any) -> dict[str, Any]:
    return {"userId": "u1", "event": "Order Completed", "properties": {"total": 5}, **extra}


def test_track_is_queued_and_acknowledged(served: tuple[httpx.Client, SQLiteQueue]) -> None:
    client, queue = served
    r = client.post("/v1/track", json=_track(messageId="m-1"))
    assert r.status_code == 200 and r.json() == {"success": True}
    leases = queue.lease(10, 60)
    assert sorted(lease.subscription for lease in leases) == ["all", "tracks"]
    assert leases[0].event["type"] == "track" and leases[0].event["receivedAt"]


@pytest.mark.parametrize("kind", ["identify", "page", "screen", "group", "alias"])
def test_other_calls(served: tuple[httpx.Client, SQLiteQueue], kind: str) -> None:
    client, queue = served
    body: dict[str, Any] = {"userId": "u1", "traits": {"email": "a@x.com"}}
    body.update({"group": {"groupId": "g1"}, "alias": {"previousId": "anon"}}.get(kind, {}))
    r = client.post(f"/v1/{kind}", json=body)
    assert r.status_code == 200, r.text
    (lease,) = queue.lease(10, 60)
    assert lease.event["type"] == kind and lease.event["messageId"]


def test_batch_with_context_and_duplicates(served: tuple[httpx.Client, SQLiteQueue]) -> None:
    client, queue = served
    batch = {"batch": [{"type": "identify", "userId": "u", "messageId": "b1"},
                       {"type": "track", "userId": "u", "event": "X", "messageId": "b2"},
                       {"type": "track", "userId": "u", "event": "X", "messageId": "b2"}],
             "context": {"library": {"name": "t"}}}
    assert client.post("/v1/batch", json=batch).status_code == 200
    assert client.post("/v1/batch", json=batch).status_code == 200  # all duplicates now
    leases = queue.lease(100, 60)
    assert len(leases) == 3  # identify→all, track→all+tracks; the repeats were dropped
    assert all(lease.event["context"] == {"library": {"name": "t"}} for lease in leases)


def test_write_key_in_body_and_gzip(served: tuple[httpx.Client, SQLiteQueue]) -> None:
    client, queue = served
    body = gzip.compress(json.dumps({"batch": [{"type": "track", "userId": "u", "event": "Z"}],
                                     "writeKey": KEY}).encode())
    r = httpx.post(f"{client.base_url}/v1/batch", content=body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert len(queue.lease(10, 60)) == 2


@pytest.mark.parametrize(("kind", "body", "status", "needle"), [
    ("track", b"{not json", 400, "invalid JSON at line 1, column 2"),
    ("track", b"", 400, "empty"),
    ("track", b"[1, 2]", 400, "must be a JSON object"),
    ("track", json.dumps({"userId": "u"}).encode(), 400, "event"),
    ("track", json.dumps({"event": "X"}).encode(), 400, "userId or anonymousId"),
    ("track", json.dumps(_track(properties=[1])).encode(), 400, "properties: must be an object"),
    ("track", json.dumps(_track(userId={"a": 1})).encode(), 400, "userId: must be a string"),
    ("track", json.dumps(_track(type="identify")).encode(), 400, "this endpoint takes 'track'"),
    ("track", json.dumps(_track(properties={"x": "y" * 33_000})).encode(), 400, "32 KB"),
    ("group", json.dumps({"userId": "u"}).encode(), 400, "groupId"),
    ("batch", json.dumps({"batch": {}}).encode(), 400, "batch"),
    ("batch", json.dumps({"batch": [_track(type="track"), {"type": "bogus", "userId": "u"}]}).encode(), 400,
     "batch[1].type"),
    ("batch", json.dumps({"batch": [_track(type="track", properties={"x": "y" * 33_000})]}).encode(), 400,
     "batch[0]"),
    ("batch", json.dumps({"batch": [_track(type="track", properties={"x": "y" * 30_000})] * 18}).encode(),
     400, "500 KB"),
    ("nope", b"{}", 404, "unknown endpoint"),
])
def test_bad_input_is_refused_and_nothing_queued(served: tuple[httpx.Client, SQLiteQueue], kind: str,
                                                 body: bytes, status: int, needle: str) -> None:
    client, queue = served
    r = client.post(f"/v1/{kind}", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert needle in r.json()["message"]
    assert r.json()["success"] is False and r.json()["code"]
    assert queue.stats().pending == 0


@pytest.mark.parametrize("auth", [None, ("wrong", ""), ("", "")])
def test_wrong_write_key(served: tuple[httpx.Client, SQLiteQueue], auth: tuple[str, str] | None) -> None:
    client, queue = served
    r = httpx.post(f"{client.base_url}/v1/track", json=_track(), auth=auth)
    assert r.status_code == 401 and "write key" in r.json()["message"]
    assert KEY not in r.text
    assert queue.stats().pending == 0


def test_concurrent_requests_share_queue_writes(tmp_path: Path) -> None:
    """Group commit: 100 concurrent single-event requests need far fewer durable writes."""
    import asyncio

    queue = SQLiteQueue(tmp_path / "q.sqlite")
    app = create_app(route=_route, queue=queue, write_keys=[KEY])
    with ServerThread(app) as srv:
        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=srv.url, auth=(KEY, ""), timeout=30) as client:
                replies = await asyncio.gather(*(client.post("/v1/track", json=_track(messageId=f"g{i}"))
                                                 for i in range(100)))
            return [r.status_code for r in replies]

        assert asyncio.run(burst()) == [200] * 100
    assert queue.stats().ready == 200  # each event to 'all' and 'tracks'
    assert app.state.committer.writes < 90


def test_healthz_and_metrics(served: tuple[httpx.Client, SQLiteQueue]) -> None:
    client, _ = served
    client.post("/v1/track", json=_track())
    client.post("/v1/track", content=b"{")
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["queue"]["ready"] == 2
    text = client.get("/metrics").text
    assert 'ddengine_http_requests_total{endpoint="/v1/track",status="200"} 1' in text
    assert 'ddengine_events_rejected_total{reason="invalid_json"} 1' in text
    assert 'ddengine_queue_items{state="ready"} 2' in text
    assert "# TYPE ddengine_events_received_total counter" in text
