"""Property tests over the Dotdigital specs, planned without sending (no HTTP needed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import PayloadValidationError

from .conftest import SETTINGS

engine = pytest.importorskip("engine")
if not hasattr(engine, "load_destination"):
    pytest.skip("executor not merged yet", allow_module_level=True)

_FAST = settings(max_examples=60, deadline=None)


@pytest.fixture(scope="module")
def dest() -> Iterator[Any]:  # overrides the sandbox-backed fixture: planning needs no server
    destination = engine.load_destination("dotdigital")
    yield destination
    destination.close()


def _path(planned: Any) -> str:
    return urlsplit(planned.url).path


@_FAST
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
               min_size=1, max_size=30))
def test_identifier_path_segment_round_trips(dest: Any, identifier: str) -> None:
    """Any mobile identifier lands in exactly one path segment that decodes back to it."""
    plan = dest.plan("addContactToList", {"type": "track", "traits": {"phone": identifier}},
                     settings=SETTINGS, mapping={"listId": 1001, "channelIdentifier": "mobileNumber"},
                     base_url="http://127.0.0.1:9")
    path = _path(plan[-1])
    prefix = "/contacts/v3/mobileNumber/"
    assert path.startswith(prefix)
    segment = path[len(prefix):]
    assert "/" not in segment and "?" not in segment and "#" not in segment and " " not in segment
    assert unquote(segment) == identifier
    assert plan[-1].json["identifiers"]["mobileNumber"] == identifier  # the body keeps the raw value


@_FAST
@given(st.emails())
def test_email_at_sign_stays_literal(dest: Any, email: str) -> None:
    plan = dest.plan("removeContactFromList", {"type": "track", "traits": {"email": email}},
                     settings=SETTINGS, mapping={"listId": 1001}, base_url="http://127.0.0.1:9")
    segment = _path(plan[0]).rsplit("/", 1)[1]
    assert "%40" not in segment and unquote(segment) == email


@_FAST
@given(st.text(alphabet="0123456789 +-().xABC", max_size=25))
def test_sms_number_is_the_digits_or_a_validation_error(dest: Any, raw: str) -> None:
    digits = re.sub(r"\D", "", raw)
    event = {"type": "track", "traits": {"phone": raw}}
    if len(digits) < 7:
        with pytest.raises(PayloadValidationError) as info:
            dest.plan("sendSms", event, settings=SETTINGS, mapping={"message": "hi"}, base_url="http://127.0.0.1:9")
        assert "to" in info.value.fields
        return
    plan = dest.plan("sendSms", event, settings=SETTINGS, mapping={"message": "hi"}, base_url="http://127.0.0.1:9")
    assert _path(plan[0]) == f"/v2/sms-messages/send-to/{digits}"
    transactional = dest.plan("sendTransactionalSms", event, settings=SETTINGS, mapping={"message": "hi"},
                              base_url="http://127.0.0.1:9")
    assert transactional[0].json["to"] == {"phoneNumber": digits}


@_FAST
@given(st.lists(st.emails(), min_size=1, max_size=5), st.booleans())
def test_address_lists_split_trim_and_ignore_trailing_comma(dest: Any, addresses: list[str],
                                                            trailing: bool) -> None:
    text = " , ".join(addresses) + (", " if trailing else "")
    plan = dest.plan("sendTransactionalEmail", {"type": "track"}, settings=SETTINGS,
                     mapping={"fromAddress": "a@example.com", "toAddresses": text, "subject": "s",
                              "htmlContent": "<p>x</p>", "bccAddresses": text},
                     base_url="http://127.0.0.1:9")
    body = plan[0].json
    assert body["ToAddresses"] == addresses and body["BCCAddresses"] == addresses
    assert body["CCAddresses"] == []
