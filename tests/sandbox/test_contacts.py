"""Contacts v3: get, create-or-update, delete; identifiers, merge options, errors."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.sandbox import Sandbox


def test_get_seeded_contact_has_segment_field_names(client: httpx.Client) -> None:
    r = client.get("/contacts/v3/email/alice@example.com")
    assert r.status_code == 200
    body = r.json()
    assert {
        "contactId",
        "status",
        "created",
        "updated",
        "identifiers",
        "dataFields",
        "channelProperties",
        "lists",
        "consentRecords",
    } <= set(body)
    assert body["contactId"] == 1
    assert body["identifiers"] == {"email": "alice@example.com", "mobileNumber": "447700900001"}
    assert body["dataFields"] == {"FIRSTNAME": "Alice"}
    assert body["lists"] == [{"id": 1001, "name": "Newsletter", "status": "subscribed"}]
    assert body["channelProperties"]["email"]["status"] == "subscribed"
    assert body["created"].endswith("Z")


def test_get_by_mobile_and_contact_id(client: httpx.Client) -> None:
    assert client.get("/contacts/v3/mobileNumber/447700900001").json()["contactId"] == 1
    assert client.get("/contacts/v3/mobileNumber/+447700900001").json()["contactId"] == 1
    assert client.get("/contacts/v3/contactId/2").json()["identifiers"]["email"] == "bob@example.com"


def test_get_is_case_insensitive_on_email(client: httpx.Client) -> None:
    assert client.get("/contacts/v3/email/ALICE@Example.com").json()["contactId"] == 1


def test_get_unknown_contact_404_shape(client: httpx.Client) -> None:
    r = client.get("/contacts/v3/email/nobody@example.com")
    assert r.status_code == 404
    assert r.json() == {
        "errorCode": "contacts:contactNotFound",
        "description": "The following contacts could not be found",
        "details": [{"item": "nobody@example.com", "description": "Not found using the identifier 'email'"}],
    }


def test_get_invalid_id_400(client: httpx.Client) -> None:
    r = client.get("/contacts/v3/email/not-an-email")
    assert r.status_code == 400
    assert r.json()["errorCode"] == "contacts:invalidId"
    assert "not-an-email" in r.json()["description"]
    r = client.get("/contacts/v3/fax/123")
    assert r.status_code == 400 and r.json()["errorCode"] == "contacts:invalidIdentifier"


def test_patch_creates_201_then_updates_200(client: httpx.Client, sb: Sandbox) -> None:
    body = {
        "identifiers": {"email": "carol@example.com", "mobileNumber": "447700900003"},
        "channelProperties": {
            "email": {"emailType": "html", "optInType": "single"},
            "sms": {"status": "subscribed"},
        },
        "lists": [1002],
        "dataFields": {"FIRSTNAME": "Carol", "AGE": 30, "VIP": "true", "BIRTHDAY": "1990-05-01"},
    }
    r = client.patch("/contacts/v3/email/carol@example.com", params={"merge-option": "overwrite"}, json=body)
    assert r.status_code == 201
    created = r.json()
    assert created["contactId"] == 100
    assert created["channelProperties"]["email"]["status"] == "subscribed"  # omitted status on a new contact
    assert created["dataFields"] == {"FIRSTNAME": "Carol", "AGE": 30, "VIP": True, "BIRTHDAY": "1990-05-01"}
    assert created["lists"] == [{"id": 1002, "name": "VIP Customers", "status": "subscribed"}]
    r = client.patch("/contacts/v3/email/carol@example.com", json={"dataFields": {"LASTNAME": "Jones"}})
    assert r.status_code == 200
    assert r.json()["contactId"] == 100
    assert r.json()["dataFields"]["LASTNAME"] == "Jones" and r.json()["dataFields"]["FIRSTNAME"] == "Carol"
    second = client.patch(
        "/contacts/v3/email/dave@example.com", json={"identifiers": {"email": "dave@example.com"}}
    )
    assert second.json()["contactId"] == 101
    state_contact = next(c for c in sb.state["contacts"] if c["contactId"] == 100)
    assert state_contact["identifiers"]["email"] == "carol@example.com"


def test_patch_creates_from_path_identifier_and_rejects_missing_ones(client: httpx.Client) -> None:
    r = client.patch("/contacts/v3/mobileNumber/447700900009", json={})
    assert r.status_code == 201
    assert r.json()["identifiers"] == {"mobileNumber": "447700900009"}
    assert r.json()["channelProperties"]["sms"]["status"] == "subscribed"
    r = client.patch("/contacts/v3/contactId/999", json={"identifiers": {"email": "x@example.com"}})
    assert r.status_code == 404


def test_patch_null_clears_data_field(client: httpx.Client) -> None:
    r = client.patch("/contacts/v3/email/alice@example.com", json={"dataFields": {"FIRSTNAME": None}})
    assert r.status_code == 200
    assert "FIRSTNAME" not in r.json()["dataFields"]


def test_patch_merge_options(client: httpx.Client) -> None:
    url = "/contacts/v3/email/alice@example.com"
    r = client.patch(
        url,
        params={"merge-option": "overwrite-if-empty"},
        json={"dataFields": {"FIRSTNAME": "Alicia", "LASTNAME": "Smith"}},
    )
    assert r.json()["dataFields"] == {"FIRSTNAME": "Alice", "LASTNAME": "Smith"}
    r = client.patch(
        url,
        params={"merge-option": "overwrite-if-not-empty"},
        json={"dataFields": {"FIRSTNAME": "", "LASTNAME": None, "GENDER": "f"}},
    )
    assert r.json()["dataFields"] == {"FIRSTNAME": "Alice", "LASTNAME": "Smith", "GENDER": "f"}
    r = client.patch(url, params={"merge-option": "overwrite"}, json={"dataFields": {"FIRSTNAME": "Alicia"}})
    assert r.json()["dataFields"]["FIRSTNAME"] == "Alicia"
    r = client.patch(url, params={"merge-option": "ignore"}, json={})
    assert r.status_code == 400 and r.json()["errorCode"] == "contacts:invalidMergeOption"


def test_patch_identifier_collision_409(client: httpx.Client) -> None:
    r = client.patch(
        "/contacts/v3/email/bob@example.com", json={"identifiers": {"mobileNumber": "447700900001"}}
    )
    assert r.status_code == 409
    body = r.json()
    assert body["errorCode"] == "contacts:idAlreadyExists"
    assert body["details"][0]["item"] == "447700900001"


def test_patch_validation_errors(client: httpx.Client) -> None:
    url = "/contacts/v3/email/bob@example.com"
    cases = [
        ({"dataFields": {"NOPE": 1}}, "contacts:invalidDataField"),
        ({"dataFields": {"AGE": "old"}}, "contacts:invalidDataFieldValue"),
        ({"dataFields": {"FIRSTNAME": 5}}, "contacts:invalidDataFieldValue"),
        ({"dataFields": {"VIP": "maybe"}}, "contacts:invalidDataFieldValue"),
        ({"dataFields": {"BIRTHDAY": "soon"}}, "contacts:invalidDataFieldValue"),
        ({"lists": [4242]}, "contacts:invalidListId"),
        ({"lists": ["1001"]}, "contacts:validationFailed"),
        ({"channelProperties": {"email": {"status": "maybe"}}}, "contacts:validationFailed"),
        ({"channelProperties": {"email": {"emailType": "Html"}}}, "contacts:validationFailed"),
        ({"identifiers": {"email": "broken"}}, "contacts:invalidId"),
    ]
    for body, code in cases:
        r = client.patch(url, json=body)
        assert r.status_code == 400, body
        assert r.json()["errorCode"] == code, body
        assert isinstance(r.json()["description"], str)
    r = client.patch(url, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["errorCode"] == "contacts:badJson"


def test_channel_status_rules(client: httpx.Client) -> None:
    url = "/contacts/v3/email/bob@example.com"
    r = client.patch(url, json={"channelProperties": {"email": {"status": "unsubscribed"}}})
    assert r.json()["channelProperties"]["email"]["status"] == "unsubscribed"
    r = client.patch(url, json={"channelProperties": {"email": {"emailType": "plainText"}}})  # status omitted
    assert r.json()["channelProperties"]["email"] == {
        "emailType": "plainText",
        "optInType": "single",
        "status": "unsubscribed",
    }
    r = client.patch(
        url,
        json={
            "channelProperties": {
                "email": {"status": "subscribed", "resubscribeOptions": {"resubscribeWithNoChallenge": False}}
            }
        },
    )
    assert r.json()["channelProperties"]["email"]["status"] == "pendingOptIn"
    r = client.patch(
        url,
        json={
            "channelProperties": {
                "email": {"status": "subscribed", "resubscribeOptions": {"resubscribeWithNoChallenge": True}}
            }
        },
    )
    assert r.json()["channelProperties"]["email"]["status"] == "subscribed"
    r = client.patch(
        "/contacts/v3/email/erin@example.com",
        json={"channelProperties": {"email": {"optInType": "verifiedDouble"}}},
    )
    assert r.json()["channelProperties"]["email"]["status"] == "pendingOptIn"


def test_delete_contact_then_patch_undeletes(client: httpx.Client, sb: Sandbox) -> None:
    r = client.delete("/contacts/v3/email/alice@example.com")
    assert r.status_code == 200 and r.json() == {"contactId": 1}
    assert client.get("/contacts/v3/email/alice@example.com").status_code == 404
    assert client.delete("/contacts/v3/email/alice@example.com").status_code == 404
    assert all(c["contactId"] != 1 for c in sb.state["contacts"])
    assert sb.state["lists"][0]["contacts"] == 0
    r = client.patch("/contacts/v3/email/alice@example.com", json={})
    assert r.status_code == 200 and r.json()["contactId"] == 1 and r.json()["lists"] == []


def test_percent_decoding_keeps_literal_plus(client: httpx.Client) -> None:
    r = client.patch("/contacts/v3/email/a+tag@example.com", json={})
    assert r.status_code == 201
    assert r.json()["identifiers"]["email"] == "a+tag@example.com"
    assert client.get("/contacts/v3/email/a%2Btag%40example.com").json()["contactId"] == r.json()["contactId"]
    assert client.get("/contacts/v3/email/a tag@example.com").status_code == 400  # '+' is not a space


_LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.+_-'!#$%&*=?^{|}~", min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    local=_LOCAL.filter(lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s),
    safe=st.sampled_from(["@", "@+", ""]),
    name=st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "Zs"]), max_size=20),
)
def test_property_patch_then_get_round_trips(client: httpx.Client, local: str, safe: str, name: str) -> None:
    """Whatever path encoding a client picks, PATCH then GET finds the same contact and values."""
    email = f"{local}@example.org"
    path = "/contacts/v3/email/" + quote(email, safe=safe)
    r = client.patch(path, json={"identifiers": {"email": email}, "dataFields": {"FULLNAME": name}})
    assert r.status_code in (200, 201), r.text
    got = client.get(path)
    assert got.status_code == 200
    assert got.json()["contactId"] == r.json()["contactId"]
    assert got.json()["identifiers"]["email"] == email
    assert got.json()["dataFields"]["FULLNAME"] == name
