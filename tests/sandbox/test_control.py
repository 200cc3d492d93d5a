"""The control API and Python API: state, reset, request log, seeds, data files."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from engine.sandbox import Sandbox


def test_demo_seed_state(sb: Sandbox) -> None:
    state = httpx.get(sb.url + "/_sandbox/state").json()
    assert state == sb.state
    assert [(lst["id"], lst["name"], lst["visibility"]) for lst in state["lists"]] == [
        (1001, "Newsletter", "Public"),
        (1002, "VIP Customers", "Private"),
        (1003, "Churn Risk", "Private"),
        (1004, "Engage: High Value", "Private"),
        (1005, "Test Segment", "Private"),
    ]
    assert [c["contactId"] for c in state["contacts"]] == [1, 2]
    assert state["nextContactId"] == 100
    assert state["user"] == "demo@apiconnector.com"
    json.dumps(state)  # JSON-able


def test_reset_restores_seed_and_clears_log(client: httpx.Client, sb: Sandbox) -> None:
    client.patch("/contacts/v3/email/new@example.com", json={})
    client.post("/v2/sms-messages/send-to/447700900001", json={"message": "x"})
    assert len(sb.state["contacts"]) == 3 and sb.requests
    r = httpx.post(sb.url + "/_sandbox/reset")
    assert r.status_code == 200
    assert len(sb.state["contacts"]) == 2 and sb.state["sms"] == [] and sb.requests == []
    assert client.patch("/contacts/v3/email/new@example.com", json={}).json()["contactId"] == 100


def test_request_log_records_every_api_call(client: httpx.Client, sb: Sandbox) -> None:
    client.patch(
        "/contacts/v3/email/a+b@example.com",
        params={"merge-option": "overwrite"},
        json={"identifiers": {"email": "a+b@example.com"}},
    )
    client.get("/v2/programs")
    httpx.get(sb.url + "/v2/programs")  # unauthenticated: logged too
    httpx.get(sb.url + "/_sandbox/state")  # control calls are not logged
    log = sb.requests
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("PATCH", "/contacts/v3/email/a+b@example.com", 201),
        ("GET", "/v2/programs", 200),
        ("GET", "/v2/programs", 401),
    ]
    assert log[0]["query"] == {"merge-option": "overwrite"}
    assert log[0]["json"] == {"identifiers": {"email": "a+b@example.com"}}
    assert log[0]["user"] == "demo@apiconnector.com" and log[2]["user"] is None
    assert log[0]["time"] <= log[1]["time"] <= log[2]["time"]
    over_http = httpx.get(sb.url + "/_sandbox/requests", params={"limit": 2}).json()
    assert over_http["count"] == 2 and over_http["requests"][-1]["status"] == 401
    httpx.delete(sb.url + "/_sandbox/requests")
    assert sb.requests == []
    client.get("/v2/programs")
    sb.clear_requests()
    assert sb.requests == []


def test_request_log_is_bounded() -> None:
    with Sandbox(request_log_size=3) as sb, httpx.Client(base_url=sb.url, auth=sb.auth) as c:
        for i in range(5):
            c.get(f"/v2/programs?skip={i}")
        assert [e["query"]["skip"] for e in sb.requests] == ["2", "3", "4"]
        assert sb.request_count == 5


def test_empty_seed_and_data_file(tmp_path: Path) -> None:
    data = {
        "users": {"me@apiconnector.com": "secret"},
        "lists": [{"id": 7, "name": "Imported"}],
        "contacts": [{"contactId": 50, "identifiers": {"email": "z@example.com"}, "lists": [7]}],
    }
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    with Sandbox(seed="empty", data=path) as sb:
        c = httpx.Client(base_url=sb.url, auth=("me@apiconnector.com", "secret"))
        assert c.get("/v2/address-books").json() == [
            {"id": 7, "name": "Imported", "visibility": "Private", "contacts": 1}
        ]
        assert c.get("/v2/programs").json() == []
        assert c.patch("/contacts/v3/email/y@example.com", json={}).json()["contactId"] == 100
        assert c.get("/contacts/v3/email/z@example.com").json()["lists"][0]["id"] == 7
        c.close()
        snapshot = sb.state
    # A state snapshot replays as a data file.
    path.write_text(json.dumps(snapshot))
    with Sandbox(seed="empty", data=path) as again:
        assert [c["contactId"] for c in again.state["contacts"]] == [50, 100]
        assert again.state["nextContactId"] == 101


def test_bad_seed_and_data_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown sandbox seed"):
        Sandbox(seed="nope")
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  oops")
    with pytest.raises(ValueError, match=r"bad.json:2:3"):
        Sandbox(data=bad)
    with pytest.raises(ValueError, match="cannot read"):
        Sandbox(data=tmp_path / "missing.json")


def test_url_before_start_and_idempotent_stop() -> None:
    sb = Sandbox()
    with pytest.raises(RuntimeError, match="not started"):
        _ = sb.url
    sb.start()
    url = sb.url
    assert httpx.get(url + "/_sandbox/health").json()["ok"] is True
    sb.stop()
    sb.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/_sandbox/health")


def test_data_file_errors_name_the_item(tmp_path: Path) -> None:
    cases = {
        "lists[0]: missing 'name'": {"lists": [{"id": 9}]},
        "contacts[1]: email A@example.com belongs to two contacts": {
            "contacts": [
                {"identifiers": {"email": "a@example.com"}},
                {"identifiers": {"email": "A@example.com"}},
            ]
        },
        "contacts[0]: list 77 does not exist": {
            "contacts": [{"identifiers": {"email": "a@example.com"}, "lists": [77]}]
        },
        "dataFields[0]: type must be one of": {"dataFields": [{"name": "X", "type": "Text"}]},
    }
    for message, doc in cases.items():
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            Sandbox(seed="empty", data=doc)
