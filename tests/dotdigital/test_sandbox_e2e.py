"""Every Dotdigital action end to end: engine → real HTTP → sandbox, then the sandbox state is read back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.errors import AuthenticationError, DestinationError, PayloadValidationError, RetryableError

from .conftest import SETTINGS
from .helpers import api_calls, contact, list_ids


def _track(event: str, **sections: Any) -> dict[str, Any]:
    return {"type": "track", "event": event, "userId": "u-1", "messageId": f"m-{event}", **sections}


def _run(dest: Any, sb: Any, action: str, event: dict[str, Any], mapping: dict[str, Any]) -> Any:
    return dest.run_action(action, event, settings=SETTINGS, mapping=mapping, base_url=sb.url)


_EVENTS = {"addContactToList": "Add Contact to List", "removeContactFromList": "Remove Contact from List",
           "enrolContact": "Enrol Contact to Program", "sendEmailCampaign": "Send Email Campaign",
           "sendSms": "Send SMS", "sendTransactionalSms": "Send Transactional SMS",
           "sendTransactionalEmail": "Send Transactional Email"}


def _act(dest: Any, sb: Any, action: str, traits: dict[str, Any], mapping: dict[str, Any]) -> Any:
    """Run `action` for a track event of its default name carrying `traits`."""
    return _run(dest, sb, action, _track(_EVENTS[action], traits=traits), mapping)


def test_test_authentication(dest: Any, sb: Any) -> None:
    dest.test_authentication(SETTINGS, base_url=sb.url)
    assert [(r["method"], r["path"]) for r in api_calls(sb)] == [("GET", "/v2/data-fields/")]
    with pytest.raises(AuthenticationError) as info:
        dest.test_authentication(dict(SETTINGS, password="wrong-password"), base_url=sb.url)
    text = str(info.value)
    assert "region" in text and "wrong-password" not in text


def test_add_contact_to_list_creates_contact_with_coerced_data_fields(dest: Any, sb: Any) -> None:
    mapping = {"listId": "1002", "dataFields": {"FIRSTNAME": " Carol ", "AGE": "42", "BIRTHDAY": "1990-05-17",
                                                 "VIP": "true"}}
    result = _act(dest, sb, "addContactToList", {"email": "carol@example.com"},
             mapping)
    created = contact(sb.state, email="carol@example.com")
    assert created is not None and result.result["contactId"] == created["contactId"]
    assert list_ids(created) == {1002}
    assert created["dataFields"]["FIRSTNAME"] == "Carol"
    assert created["dataFields"]["AGE"] == 42
    assert created["dataFields"]["VIP"] is True
    assert str(created["dataFields"]["BIRTHDAY"]).startswith("1990-05-17")


def test_add_contact_to_list_updates_existing_contact_and_caches_definitions(dest: Any, sb: Any) -> None:
    event = _track("Add Contact to List", traits={"email": "alice@example.com"})
    for age in ("30", "31"):
        _run(dest, sb, "addContactToList", event, {"listId": 1004, "dataFields": {"AGE": age}})
    alice = contact(sb.state, email="alice@example.com")
    assert alice is not None and alice["contactId"] == 1
    assert list_ids(alice) == {1001, 1004}
    assert alice["dataFields"]["AGE"] == 31
    paths = [r["path"] for r in api_calls(sb)]
    assert paths.count("/v2/data-fields/") == 1, paths  # second event served from the cache


def test_add_contact_to_list_rejects_unknown_data_field_before_writing(dest: Any, sb: Any) -> None:
    with pytest.raises(PayloadValidationError) as info:
        _act(dest, sb, "addContactToList", {"email": "carol@example.com"},
             {"listId": 1001, "dataFields": {"SHOE_SIZE": 9}})
    assert "SHOE_SIZE" in str(info.value)
    assert contact(sb.state, email="carol@example.com") is None


def test_remove_contact_from_list(dest: Any, sb: Any) -> None:
    _act(dest, sb, "removeContactFromList", {"email": "alice@example.com"},
             {"listId": 1001})
    assert list_ids(contact(sb.state, email="alice@example.com")) == set()


def test_remove_unknown_contact_is_permanent_and_deletes_nothing(dest: Any, sb: Any) -> None:
    with pytest.raises(DestinationError) as info:
        _run(dest, sb, "removeContactFromList",
             _track("Remove Contact from List", traits={"email": "nobody@example.com"}), {"listId": 1001})
    assert "nobody@example.com" in str(info.value)
    assert [r["method"] for r in api_calls(sb)] == ["GET"]


def test_contact_lookup_is_cached_and_invalidated_on_404(dest: Any, sb: Any) -> None:
    event = _track("Send Email Campaign", traits={"email": "alice@example.com"})
    _run(dest, sb, "sendEmailCampaign", event, {"campaignId": 3001})
    _run(dest, sb, "sendEmailCampaign", event, {"campaignId": 3002})
    assert [r["method"] for r in api_calls(sb)] == ["GET", "POST", "POST"]
    # The contact disappears behind the cache's back: the stale id gets a 404, the cache entry is
    # dropped, the lookup is repeated and now fails cleanly.
    deleted = httpx.delete(f"{sb.url}/contacts/v3/email/alice@example.com",
                           auth=(SETTINGS["username"], SETTINGS["password"]))
    assert deleted.status_code == 200
    mark = len(sb.requests)
    removal = _track("Remove Contact from List", traits={"email": "alice@example.com"})
    with pytest.raises(DestinationError):
        _run(dest, sb, "removeContactFromList", removal, {"listId": 1001})
    calls = [(r["method"], r["status"]) for r in api_calls(sb, mark)]
    assert calls[-1] == ("GET", 404), calls


def test_enrol_contact_creates_then_enrols(dest: Any, sb: Any) -> None:
    result = _act(dest, sb, "enrolContact", {"email": "dave@example.com"},
             {"programId": "2001"})
    state = sb.state
    dave = contact(state, email="dave@example.com")
    assert dave is not None
    enrolled = [e for e in state["enrolments"] if dave["contactId"] in (e.get("contacts") or [])]
    assert [e["programId"] for e in enrolled] == [2001]
    assert result.result["programId"] == 2001


def test_enrol_into_inactive_program_is_permanent(dest: Any, sb: Any) -> None:
    with pytest.raises(DestinationError) as info:
        _act(dest, sb, "enrolContact", {"email": "bob@example.com"},
             {"programId": "2002"})
    assert "not active" in str(info.value)
    assert sb.state["enrolments"] == []


def test_send_email_campaign_variants(dest: Any, sb: Any) -> None:
    event = _track("Send Email Campaign", traits={"email": "bob@example.com"})
    _run(dest, sb, "sendEmailCampaign", event, {"campaignId": 3001, "sendDate": "2026-12-01T09:00:00Z"})
    _run(dest, sb, "sendEmailCampaign", event, {"campaignId": 3002, "sendTimeOptimised": True})
    sends = sb.state["campaignSends"]
    assert len(sends) == 2
    assert str(sends[0]).count("3001") and str(sends[1]).count("3002")
    posts = [r["path"] for r in api_calls(sb) if r["method"] == "POST"]
    assert posts == ["/v2/campaigns/send", "/v2/campaigns/send-time-optimised"]


def test_send_email_campaign_to_unknown_contact_sends_nothing(dest: Any, sb: Any) -> None:
    with pytest.raises(DestinationError):
        _act(dest, sb, "sendEmailCampaign", {"email": "zed@example.com"},
             {"campaignId": 3001})
    assert sb.state["campaignSends"] == []


def test_send_sms(dest: Any, sb: Any) -> None:
    _act(dest, sb, "sendSms", {"phone": "+44 7700-900123"}, {"message": "Shipped"})
    assert [s.get("message") for s in sb.state["sms"]] == ["Shipped"]
    assert str(sb.state["sms"][0]).count("447700900123")


def test_send_transactional_sms(dest: Any, sb: Any) -> None:
    result = _act(dest, sb, "sendTransactionalSms", {"phone": "447700900123"},
             {"message": "Code 123456", "from": "ACME", "link_shortening": True})
    messages = sb.state["cpaasMessages"]
    assert len(messages) == 1 and messages[0]["messageId"] == result.result["messageId"]
    assert messages[0]["body"] == "Code 123456"


def test_send_transactional_email(dest: Any, sb: Any) -> None:
    _act(dest, sb, "sendTransactionalEmail", {"email": "alice@example.com"},
         {"fromAddress": "Shop <orders@example.com>", "toAddresses": "alice@example.com, bob@example.com,",
          "subject": "Receipt", "htmlContent": "<p>Thanks</p>", "ccAddresses": "carol@example.com"})
    emails = sb.state["emails"]
    assert len(emails) == 1
    text = str(emails[0])
    assert "bob@example.com" in text and "carol@example.com" in text and "Receipt" in text


def test_send_transactional_email_rejects_bad_address_without_calling(dest: Any, sb: Any) -> None:
    with pytest.raises(PayloadValidationError) as info:
        _act(dest, sb, "sendTransactionalEmail", {"email": "a:b@example.com"},
             {"fromAddress": "orders@example.com", "subject": "S", "htmlContent": "<p>x</p>"})
    assert "a:b@example.com" in str(info.value)
    assert api_calls(sb) == []


def test_wrong_password_is_an_authentication_error_on_actions(dest: Any, sb: Any) -> None:
    bad = dict(SETTINGS, password="not-the-password")
    with pytest.raises(AuthenticationError) as info:
        dest.run_action("sendSms", _track("Send SMS", traits={"phone": "447700900123"}), settings=bad,
                        mapping={"message": "hi"}, base_url=sb.url)
    assert "not-the-password" not in str(info.value)
    assert sb.state["sms"] == []


def test_server_error_is_retryable_and_nothing_is_recorded(dest: Any, sb: Any) -> None:
    sb.set_faults(fail_next=[{"endpoint": "POST /v2/campaigns/send", "status": 500}])
    event = _track("Send Email Campaign", traits={"email": "alice@example.com"})
    with pytest.raises(RetryableError):
        _run(dest, sb, "sendEmailCampaign", event, {"campaignId": 3001})
    assert sb.state["campaignSends"] == []
    _run(dest, sb, "sendEmailCampaign", event, {"campaignId": 3001})  # the retry succeeds
    assert len(sb.state["campaignSends"]) == 1


def test_rate_limited_call_is_retryable_with_retry_after(dest: Any, sb: Any) -> None:
    sb.set_rate_limits({"low": 2, "medium": 2, "high": 2, "window": 60})
    try:
        event = _track("Send SMS", traits={"phone": "447700900123"})
        outcomes = []
        for _ in range(3):
            try:
                _run(dest, sb, "sendSms", event, {"message": "hi"})
                outcomes.append("ok")
            except RetryableError as exc:
                outcomes.append(exc.retry_after)
        assert outcomes[:2] == ["ok", "ok"]
        assert isinstance(outcomes[2], float | int) and 0 < outcomes[2] <= 60
        assert [r["status"] for r in api_calls(sb)][-1] == 429
    finally:
        sb.set_rate_limits(None)
