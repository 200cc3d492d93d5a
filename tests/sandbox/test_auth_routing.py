"""Basic auth per account, 401 bodies per family, routing tolerance, 404/405 shapes."""

from __future__ import annotations

import httpx
import pytest

from engine.sandbox import Sandbox

DENIED = "Authorization has been denied for this request."


@pytest.mark.parametrize(
    "auth", [None, ("demo@apiconnector.com", "wrong"), ("someone@else.com", "demo-password")]
)
def test_v2_401_body(sb: Sandbox, auth: tuple[str, str] | None) -> None:
    r = httpx.get(sb.url + "/v2/data-fields/", auth=auth)
    assert r.status_code == 401
    assert r.json() == {"message": DENIED}


def test_401_bodies_of_other_families(sb: Sandbox) -> None:
    r = httpx.get(sb.url + "/contacts/v3/email/alice@example.com")
    assert r.status_code == 401
    assert r.json() == {"errorCode": "contacts:unauthorized", "description": DENIED}
    r = httpx.post(sb.url + "/cpaas/messages", json={})
    assert r.status_code == 401 and r.json() == {"message": DENIED}


def test_malformed_authorization_headers(sb: Sandbox) -> None:
    for header in ("Bearer abc", "Basic !!!notbase64", "Basic ZGVtbw=="):  # last: "demo" without a colon
        r = httpx.get(sb.url + "/v2/programs", headers={"Authorization": header})
        assert r.status_code == 401, header


def test_users_get_separate_accounts() -> None:
    users = {"one@apiconnector.com": "pw-1", "two@apiconnector.com": "pw-2"}
    with Sandbox(users=users) as sb:
        one = httpx.Client(base_url=sb.url, auth=("one@apiconnector.com", "pw-1"))
        two = httpx.Client(base_url=sb.url, auth=("two@apiconnector.com", "pw-2"))
        assert one.patch("/contacts/v3/email/zed@example.com", json={}).status_code == 201
        assert one.get("/contacts/v3/email/zed@example.com").status_code == 200
        assert two.get("/contacts/v3/email/zed@example.com").status_code == 404
        assert (
            httpx.get(sb.url + "/v2/programs", auth=("demo@apiconnector.com", "demo-password")).status_code
            == 401
        )
        assert httpx.get(sb.url + "/v2/programs", auth=("one@apiconnector.com", "pw-2")).status_code == 401
        assert any(c["identifiers"].get("email") == "zed@example.com" for c in sb.state["contacts"])
        assert not any(
            c["identifiers"].get("email") == "zed@example.com"
            for c in sb.account_state("two@apiconnector.com")["contacts"]
        )
        one.close()
        two.close()


def test_unknown_route_and_method(client: httpx.Client) -> None:
    r = client.get("/v2/nothing-here")
    assert r.status_code == 404 and "message" in r.json()
    r = client.put("/v2/data-fields")
    assert r.status_code == 405 and "PUT" in r.json()["message"]
    r = client.get("/contacts/v3/email")
    assert r.status_code == 404 and "errorCode" in r.json()


def test_paths_are_case_insensitive_and_slash_tolerant(client: httpx.Client) -> None:
    assert client.get("/v2/Address-Books/").status_code == 200
    assert client.get("/v2//programs/").status_code == 200
    assert client.get("/contacts/v3/email/alice@example.com/").json()["contactId"] == 1


def test_invalid_json_on_v2(client: httpx.Client) -> None:
    r = client.post("/v2/email", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["message"].endswith("ERROR_PARAMETER_INVALID")
    r = client.post("/v2/email", json=["not", "an", "object"])
    assert r.status_code == 400
