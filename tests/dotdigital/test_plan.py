"""Planning (dry runs) must work for steps whose body is computed from an earlier response."""

from __future__ import annotations

import engine

SETTINGS = {"region": "r1", "username": "demo@apiconnector.com", "password": "demo-password"}
EVENT = {"type": "track", "event": "Add Contact to List", "userId": "u1",
         "traits": {"email": "x@example.com", "firstName": "X"}}


def test_plan_shows_a_placeholder_for_a_body_built_from_an_earlier_response() -> None:
    dest = engine.load_destination("dotdigital")
    mapping = {"listId": 1001, "dataFields": {"FIRSTNAME": {"@jmespath": "traits.firstName"}}}
    planned = dest.plan("addContactToList", EVENT, settings=SETTINGS, mapping=mapping)
    assert [p.step for p in planned][-2:] == ["fields", "contact"]
    contact = planned[-1]
    assert contact.method == "PATCH"
    assert contact.url.endswith("/contacts/v3/email/x@example.com")
    assert contact.depends_on == ("fields",)
    assert isinstance(contact.json, str) and "steps.fields" in contact.json
    assert "demo-password" not in repr(planned)


def test_plan_without_data_fields_renders_the_whole_body() -> None:
    dest = engine.load_destination("dotdigital")
    planned = dest.plan("addContactToList", EVENT, settings=SETTINGS, mapping={"listId": 1001})
    contact = planned[-1]
    assert contact.depends_on == ()
    assert contact.json["lists"] == [1001]
    assert contact.json["identifiers"] == {"email": "x@example.com"}
