"""Dynamic choices for List, Program (active only), Campaign and Data Fields, over every page."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import SETTINGS
from .helpers import api_calls

AUTH = (SETTINGS["username"], SETTINGS["password"])


def test_list_choices_page_through_everything(dest: Any, sb: Any) -> None:
    with httpx.Client(base_url=sb.url, auth=AUTH) as client:
        for i in range(430):
            assert client.post("/v2/address-books", json={"name": f"Bulk {i:03d}"}).status_code in (200, 201)
    mark = len(sb.requests)
    choices = dest.choices("lists", SETTINGS, base_url=sb.url)
    values = [c["value"] for c in choices]
    assert len(values) == 435 and len(set(values)) == 435
    assert {"value": "1001", "label": "Newsletter"} in choices
    assert all(isinstance(v, str) for v in values)
    skips = [r["query"].get("skip") for r in api_calls(sb, mark)]
    assert [str(s) for s in skips] == ["0", "200", "400", "600"]


def _pages(sb: Any) -> list[tuple[str, str, str]]:
    return [(r["path"], str(r["query"].get("select")), str(r["query"].get("skip"))) for r in api_calls(sb)]


def test_program_choices_are_active_only(dest: Any, sb: Any) -> None:
    choices = dest.choices("programs", SETTINGS, base_url=sb.url)
    assert choices == [{"value": "2001", "label": "Welcome Journey"},
                       {"value": "2003", "label": "Birthday Offer"}]
    # paged like lists (Segment reads one page only): stops at the first empty page
    assert _pages(sb) == [("/v2/programs", "200", "0"), ("/v2/programs", "200", "200")]


def test_campaign_choices(dest: Any, sb: Any) -> None:
    choices = dest.choices("campaigns", SETTINGS, base_url=sb.url)
    assert [c["value"] for c in choices] == ["3001", "3002", "3003"]
    assert choices[0]["label"] == "Black Friday"
    assert _pages(sb) == [("/v2/campaigns", "200", "0"), ("/v2/campaigns", "200", "200")]


def test_data_field_choices(dest: Any, sb: Any) -> None:
    choices = dest.choices("dataFields", SETTINGS, base_url=sb.url)
    names = {c["value"] for c in choices}
    assert {"FIRSTNAME", "AGE", "BIRTHDAY", "VIP", "LIFETIME_VALUE"} <= names
    assert {"value": "AGE", "label": "AGE (Numeric)"} in choices


def test_choices_by_field_name(dest: Any, sb: Any) -> None:
    by_field = dest.choices("listId", SETTINGS, action="addContactToList", base_url=sb.url)
    assert by_field == dest.choices("lists", SETTINGS, base_url=sb.url)
