"""v2 endpoints: account info, data fields, address books, programs, enrolments, campaigns,
transactional email and marketing SMS."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.sandbox import Sandbox


def test_account_info(client: httpx.Client, sb: Sandbox) -> None:
    r = client.get("/v2/account-info")
    assert r.status_code == 200
    props = {p["name"]: p["value"] for p in r.json()["properties"]}
    assert props["ApiEndpoint"] == sb.url
    assert props["MainEmail"] == "demo@apiconnector.com"
    assert isinstance(r.json()["id"], int)


def test_data_fields_with_and_without_trailing_slash(client: httpx.Client) -> None:
    with_slash = client.get("/v2/data-fields/")
    assert with_slash.status_code == 200
    assert with_slash.json() == client.get("/v2/data-fields").json()
    types = {f["name"]: f["type"] for f in with_slash.json()}
    assert types == {
        "FIRSTNAME": "String",
        "LASTNAME": "String",
        "FULLNAME": "String",
        "GENDER": "String",
        "POSTCODE": "String",
        "AGE": "Numeric",
        "LIFETIME_VALUE": "Numeric",
        "BIRTHDAY": "Date",
        "LAST_ORDER_DATE": "Date",
        "VIP": "Boolean",
    }
    assert all({"name", "type", "visibility", "defaultValue"} == set(f) for f in with_slash.json())


def test_create_data_field(client: httpx.Client) -> None:
    r = client.post("/v2/data-fields", json={"Name": "favourite_colour", "Type": "String"})
    assert r.status_code == 200
    assert r.json()["name"] == "FAVOURITE_COLOUR"
    assert any(f["name"] == "FAVOURITE_COLOUR" for f in client.get("/v2/data-fields").json())
    dup = client.post("/v2/data-fields", json={"name": "FIRSTNAME"})
    assert dup.status_code == 400 and dup.json()["message"].endswith("ERROR_NON_UNIQUE_DATAFIELD")
    bad = client.post("/v2/data-fields", json={"name": "1bad", "type": "String"})
    assert bad.status_code == 400 and bad.json()["message"].endswith("ERROR_PARAMETER_INVALID")


def test_address_books_listing_and_paging_to_the_end(client: httpx.Client) -> None:
    seen = []
    skip = 0
    while True:
        page = client.get("/v2/address-books", params={"select": 2, "skip": skip}).json()
        if not page:
            break
        seen.extend(page)
        skip += 2
    assert [(b["id"], b["name"]) for b in seen] == [
        (1001, "Newsletter"),
        (1002, "VIP Customers"),
        (1003, "Churn Risk"),
        (1004, "Engage: High Value"),
        (1005, "Test Segment"),
    ]
    assert seen[0] == {"id": 1001, "name": "Newsletter", "visibility": "Public", "contacts": 1}
    assert seen[4]["visibility"] == "Private"
    for bad in ({"select": 0}, {"select": 1001}, {"select": "x"}, {"skip": -1}):
        r = client.get("/v2/address-books", params=bad)
        assert r.status_code == 400, bad
        assert r.json()["message"].endswith("ERROR_PARAMETER_INVALID")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(select=st.integers(1, 1000), extra=st.integers(0, 12))
def test_property_paging_concatenates_to_full_listing(
    client: httpx.Client, sb: Sandbox, select: int, extra: int
) -> None:
    """Pages of any size, read until empty, add up to the unpaged listing in order."""
    for i in range(extra):
        client.post("/v2/address-books", json={"name": f"Extra {select} {i}"})
    full = client.get("/v2/address-books").json()
    pages, skip = [], 0
    while page := client.get("/v2/address-books", params={"select": select, "skip": skip}).json():
        pages.extend(page)
        skip += select
    assert pages == full
    sb.reset()


def test_create_address_book(client: httpx.Client) -> None:
    r = client.post("/v2/address-books", json={"Name": "Segment Audience", "Visibility": "Public"})
    assert r.status_code == 200
    assert r.json() == {"id": 1006, "name": "Segment Audience", "visibility": "Public", "contacts": 0}
    assert (
        client.post("/v2/address-books", json={"name": "segment audience"})
        .json()["message"]
        .endswith("ERROR_ADDRESSBOOK_DUPLICATE")
    )
    assert client.post("/v2/address-books", json={"name": "Test"}).status_code == 400
    assert client.post("/v2/address-books", json={"name": "x" * 129}).status_code == 400
    assert client.post("/v2/address-books", json={"name": "ok", "visibility": "Secret"}).status_code == 400
    assert client.get("/v2/address-books/1006").json()["name"] == "Segment Audience"


def test_remove_list_member(client: httpx.Client, sb: Sandbox) -> None:
    r = client.delete("/v2/address-books/1001/contacts/1")
    assert r.status_code == 204 and r.content == b""
    assert client.get("/contacts/v3/email/alice@example.com").json()["lists"] == []
    assert client.delete("/v2/address-books/1001/contacts/1").status_code == 204  # not a member: idempotent
    r = client.delete("/v2/address-books/4242/contacts/1")
    assert r.status_code == 404 and r.json() == {"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"}
    r = client.delete("/v2/address-books/1001/contacts/777")
    assert r.status_code == 404 and r.json() == {"message": "Error: ERROR_CONTACT_NOT_FOUND"}
    assert client.delete("/v2/address-books/abc/contacts/1").status_code == 400


def test_programs(client: httpx.Client) -> None:
    r = client.get("/v2/programs")
    assert r.status_code == 200
    assert [(p["id"], p["name"], p["status"]) for p in r.json()] == [
        (2001, "Welcome Journey", "Active"),
        (2002, "Win-back", "Draft"),
        (2003, "Birthday Offer", "Active"),
        (2004, "Old Promo", "Deactivated"),
    ]
    assert all("dateCreated" in p for p in r.json())
    assert client.get("/v2/programs/2003").json()["name"] == "Birthday Offer"
    assert client.get("/v2/programs/9").status_code == 404


def test_enrolment_success_with_string_program_id(client: httpx.Client, sb: Sandbox) -> None:
    r = client.post("/v2/programs/enrolments", json={"contacts": [1], "programId": "2001"})
    assert r.status_code == 201
    body = r.json()
    assert body["programId"] == 2001 and body["status"] == "Processing" and body["contacts"] == [1]
    assert len(body["id"]) == 36
    assert client.get(f"/v2/programs/enrolments/{body['id']}").json()["id"] == body["id"]
    assert sb.state["enrolments"][0]["contacts"] == [1]
    r = client.post("/v2/programs/enrolments", json={"ProgramID": 2003, "AddressBooks": [1001]})
    assert r.status_code == 201 and r.json()["addressBooks"] == [1001]


def test_enrolment_errors(client: httpx.Client) -> None:
    def enrol(body: dict) -> httpx.Response:
        return client.post("/v2/programs/enrolments", json=body)

    r = enrol({"contacts": [1], "programId": 9999})
    assert (r.status_code, r.json()) == (404, {"message": "Error: ERROR_PROGRAM_NOT_FOUND"})
    r = enrol({"contacts": [1], "programId": 2002})
    assert (r.status_code, r.json()) == (422, {"message": "Error: ERROR_PROGRAM_NOT_ACTIVE"})
    r = enrol({"contacts": [1, 555], "programId": 2001})
    assert (r.status_code, r.json()) == (400, {"message": "Error: ERROR_CONTACT_NOT_FOUND"})
    r = enrol({"contacts": [1] * 26, "programId": 2001})
    assert r.status_code == 400 and "25" in r.json()["message"]
    r = enrol({"programId": 2001})
    assert (r.status_code, r.json()) == (400, {"message": "Error: ERROR_ENROLMENT_INVALID"})
    r = enrol({"addressBooks": [1001] * 11, "programId": 2001})
    assert (r.status_code, r.json()) == (400, {"message": "Error: ERROR_ADDRESSBOOK_TOOMANY"})
    r = enrol({"addressBooks": [9], "programId": 2001})
    assert r.json() == {"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"}
    r = enrol({"contacts": [1], "programId": "abc"})
    assert r.status_code == 400 and r.json()["message"].endswith("ERROR_PARAMETER_INVALID")


def test_enrolment_hourly_allowance(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_rate_limits({"enrolments": 3, "low": 1000, "medium": 1000, "high": 1000})
    for _ in range(3):
        assert (
            client.post("/v2/programs/enrolments", json={"contacts": [1], "programId": 2001}).status_code
            == 201
        )
    r = client.post("/v2/programs/enrolments", json={"contacts": [1], "programId": 2001})
    assert r.status_code == 400
    assert r.json() == {"message": "Error: ERROR_ENROLMENT_ALLOWANCE_EXCEEDED"}
    assert 3590 <= int(r.headers["retry-after"]) <= 3600
    sb.set_rate_limits(None)
    assert (
        client.post("/v2/programs/enrolments", json={"contacts": [1], "programId": 2001}).status_code == 201
    )


def test_campaigns_listing_and_paging(client: httpx.Client) -> None:
    r = client.get("/v2/campaigns", params={"select": 200, "skip": 0})
    assert [(c["id"], c["name"]) for c in r.json()] == [
        (3001, "Black Friday"),
        (3002, "Monthly Digest"),
        (3003, "Product Launch"),
    ]
    assert client.get("/v2/campaigns", params={"select": 200, "skip": 200}).json() == []
    assert client.get("/v2/campaigns", params={"select": 1, "skip": 2}).json()[0]["id"] == 3003


def test_campaign_send_and_send_time_optimised(client: httpx.Client, sb: Sandbox) -> None:
    r = client.post(
        "/v2/campaigns/send", json={"campaignID": 3001, "contactIDs": [1], "sendDate": "2099-01-01T10:00:00Z"}
    )
    assert r.status_code == 202
    body = r.json()
    assert body["campaignId"] == 3001 and body["contactIds"] == [1] and body["status"] == "Scheduled"
    assert body["sendDate"] == "2099-01-01T10:00:00Z"
    r = client.post("/v2/campaigns/send-time-optimised", json={"campaignId": "3002", "contactIds": ["2"]})
    assert r.status_code == 202 and r.json()["status"] == "Sending"
    sends = sb.state["campaignSends"]
    assert [(s["campaignId"], s["sendTimeOptimised"]) for s in sends] == [(3001, False), (3002, True)]


def test_campaign_send_errors(client: httpx.Client) -> None:
    r = client.post("/v2/campaigns/send", json={"campaignID": 3001, "contactIDs": [1, 999]})
    assert r.status_code == 400
    assert r.json() == {
        "message": "One or more of the supplied contacts were not found. Send not permitted. "
        "ERROR_CONTACT_NOT_FOUND"
    }
    r = client.post("/v2/campaigns/send", json={"campaignID": 9, "contactIDs": [1]})
    assert (r.status_code, r.json()) == (404, {"message": "Error: ERROR_CAMPAIGN_NOT_FOUND"})
    r = client.post("/v2/campaigns/send", json={"campaignID": 3001, "contactIDs": list(range(1, 12))})
    assert r.status_code == 400 and "10" in r.json()["message"]
    assert client.post("/v2/campaigns/send", json={"campaignID": 3001}).status_code == 400
    assert client.post("/v2/campaigns/send", json={"contactIDs": [1]}).status_code == 400
    r = client.post("/v2/campaigns/send", json={"campaignID": 3001, "contactIDs": [1], "sendDate": "later"})
    assert r.status_code == 400


def test_transactional_email(client: httpx.Client, sb: Sandbox) -> None:
    ok = {
        "ToAddresses": ["a@example.com"],
        "CCAddresses": [],
        "BCCAddresses": [],
        "Subject": "Hi",
        "FromAddress": "Shop <shop@example.com>",
        "HtmlContent": "<p>hi</p>",
    }
    r = client.post("/v2/email", json=ok)
    assert r.status_code == 200 and r.content == b""
    assert sb.state["emails"][0]["toAddresses"] == ["a@example.com"]
    assert (
        client.post(
            "/v2/email", json={"toAddresses": ["b@example.com"], "subject": "s", "plainTextContent": "t"}
        ).status_code
        == 200
    )
    bad_cases = [
        {**ok, "ToAddresses": []},
        {k: v for k, v in ok.items() if k != "ToAddresses"},
        {**ok, "ToAddresses": [f"u{i}@example.com" for i in range(101)]},
        {**ok, "ToAddresses": ["nope"]},
        {**ok, "Subject": ""},
        {k: v for k, v in ok.items() if k != "HtmlContent"},
        {**ok, "FromAddress": "not an address"},
        {**ok, "CCAddresses": [f"u{i}@example.com" for i in range(101)]},
    ]
    for body in bad_cases:
        r = client.post("/v2/email", json=body)
        assert r.status_code == 400, body
        assert r.json()["message"].endswith("ERROR_PARAMETER_INVALID")
    assert len(sb.state["emails"]) == 2


def test_marketing_sms(client: httpx.Client, sb: Sandbox) -> None:
    r = client.post("/v2/sms-messages/send-to/447700900001", json={"message": "Hello"})
    assert r.status_code == 204 and r.content == b""
    assert sb.state["sms"][0]["to"] == "447700900001" and sb.state["sms"][0]["message"] == "Hello"
    assert (
        client.post("/v2/sms-messages/send-to/447700900001", json={"Message": "x" * 1600}).status_code == 204
    )
    for body in ({"message": ""}, {}, {"message": "x" * 1601}, {"message": 5}):
        assert client.post("/v2/sms-messages/send-to/447700900001", json=body).status_code == 400
    assert client.post("/v2/sms-messages/send-to/+447700900001", json={"message": "x"}).status_code == 400
    assert client.post("/v2/sms-messages/send-to/12", json={"message": "x"}).status_code == 400


def _recase(word: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(word, flips, strict=False))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.booleans(), min_size=12, max_size=12), as_text=st.booleans())
def test_property_v2_keys_any_case_and_numeric_strings(
    client: httpx.Client, flips: list[bool], as_text: bool
) -> None:
    """v2 binds keys case-insensitively and accepts numeric strings for integers."""
    campaign = "3001" if as_text else 3001
    body = {
        _recase("campaignId", flips): campaign,
        _recase("contactIds", flips[2:]): ["1"] if as_text else [1],
    }
    r = client.post("/v2/campaigns/send", json=body)
    assert r.status_code == 202, (body, r.text)
    assert r.json()["campaignId"] == 3001 and r.json()["contactIds"] == [1]
