"""CPaaS (omnichannel) messages: 201 message object, validationFailures on 400."""

from __future__ import annotations

import uuid

import httpx

from engine.sandbox import Sandbox


def test_send_sms_message(client: httpx.Client, sb: Sandbox) -> None:
    body = {
        "to": {"phoneNumber": "447700900001"},
        "body": "Your code is 1234",
        "rules": ["sms"],
        "channelOptions": {"sms": {"from": "DemoShop"}},
        "shortenLinks": "on",
    }
    r = client.post("/cpaas/messages", json=body)
    assert r.status_code == 201
    msg = r.json()
    uuid.UUID(msg["messageId"])
    assert msg["status"] == "processing"
    assert msg["to"] == {"phoneNumber": "447700900001"} and msg["rules"] == ["sms"]
    assert {"_createdOn", "_createdBy", "_updatedOn", "_updatedBy", "statusDetails"} <= set(msg)
    assert client.get(f"/cpaas/messages/{msg['messageId']}").json()["messageId"] == msg["messageId"]
    assert sb.state["cpaasMessages"][0]["body"] == "Your code is 1234"
    missing = client.get(f"/cpaas/messages/{uuid.uuid4()}")
    assert missing.status_code == 404 and "message" in missing.json()


def test_unicode_without_allow_unicode_is_failed(client: httpx.Client) -> None:
    base = {"to": {"phoneNumber": "447700900001"}, "body": "Hi 😀", "rules": ["sms"]}
    assert client.post("/cpaas/messages", json=base).json()["status"] == "failed"
    allowed = {**base, "channelOptions": {"sms": {"allowUnicode": True}}}
    assert client.post("/cpaas/messages", json=allowed).json()["status"] == "processing"
    gsm = {**base, "body": "Price: €5 @ café"}
    assert client.post("/cpaas/messages", json=gsm).json()["status"] == "processing"


def test_validation_failures(client: httpx.Client) -> None:
    ok = {"to": {"phoneNumber": "447700900001"}, "body": "hi", "rules": ["sms"]}
    cases = {
        "to": {**ok, "to": {}},
        "rules": {**ok, "rules": []},
        "body": {**ok, "body": ""},
        "to.phoneNumber": {**ok, "to": {"phoneNumber": "12ab"}},
        "channelOptions.sms.from": {**ok, "channelOptions": {"sms": {"from": "ab"}}},
        "shortenLinks": {**ok, "shortenLinks": "sometimes"},
    }
    for prop, body in cases.items():
        r = client.post("/cpaas/messages", json=body)
        assert r.status_code == 400, prop
        failures = r.json()["validationFailures"]
        assert any(f["property"] == prop for f in failures), (prop, failures)
        assert isinstance(r.json()["message"], str)
    long_body = {**ok, "body": "x" * 2001}
    assert client.post("/cpaas/messages", json=long_body).status_code == 400
    assert client.post("/cpaas/messages", json=[ok]).status_code == 400
