"""Laws of ingestion: any body gets 200 or a clear 4xx, and a 4xx never leaves anything queued."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.runtime.events import TYPES, InvalidEvent, normalize
from engine.runtime.sqlite_queue import SQLiteQueue
from engine.server import create_app
from engine.server.run import ServerThread

KEY = "prop-key"

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
fields = st.sampled_from(["type", "userId", "anonymousId", "event", "properties", "traits", "context",
                          "messageId", "groupId", "previousId", "name", "timestamp"])
events = st.dictionaries(fields, json_values | st.sampled_from([*TYPES, "u1", "Order Completed"]), max_size=8)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, SQLiteQueue]]:
    queue = SQLiteQueue(Path(tmp_path_factory.mktemp("q")) / "q.sqlite")
    app = create_app(route=lambda e: ["all"], queue=queue, write_keys=[KEY])
    with ServerThread(app) as srv, httpx.Client(base_url=srv.url, auth=(KEY, ""), timeout=10) as client:
        yield client, queue


batches = st.fixed_dictionaries({"batch": st.lists(events, max_size=3)})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from([*TYPES, "batch"]), body=events | batches)
def test_any_body_is_accepted_or_refused_cleanly(server: tuple[httpx.Client, SQLiteQueue], kind: str,
                                                 body: dict[str, Any]) -> None:
    client, queue = server
    before = queue.stats().ready
    r = client.post(f"/v1/{kind}", content=json.dumps(body))
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert r.json()["message"] and queue.stats().ready == before
    else:
        batch = body.get("batch") if kind == "batch" else None
        expected = len(batch) if isinstance(batch, list) else 1
        assert queue.stats().ready - before <= expected  # duplicates by messageId may be dropped


@settings(max_examples=150, deadline=None)
@given(raw=events)
def test_normalize_is_idempotent(raw: dict[str, Any]) -> None:
    try:
        once = normalize(raw)
    except InvalidEvent as exc:
        assert exc.path  # every refusal names a field
        return
    assert normalize(once) == once
    assert once["type"] in TYPES and once["messageId"]
