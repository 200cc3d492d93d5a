"""Seed data: the fixed `demo` account every test relies on, and the `empty` one.

Seeds use the same document shape as `GET /_sandbox/state` (and `--data FILE`), so a saved
state can be replayed as a seed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DEMO_USER = "demo@apiconnector.com"
DEMO_PASSWORD = "demo-password"
FIRST_NEW_CONTACT_ID = 100

_CREATED = "2024-01-15T09:00:00Z"


def _campaign(cid: int, name: str, subject: str) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "subject": subject,
        "fromName": "Demo Shop",
        "fromAddress": {"id": 1, "email": "news@demo-shop.example"},
        "htmlContent": None,
        "plainTextContent": None,
        "replyAction": "Unset",
        "replyToAddress": "",
        "isSplitTest": False,
        "status": "Unsent",
    }


_DEMO: dict[str, Any] = {
    "accountId": 1,
    "nextContactId": FIRST_NEW_CONTACT_ID,
    "dataFields": [
        {"name": "FIRSTNAME", "type": "String", "visibility": "Private", "defaultValue": None},
        {"name": "LASTNAME", "type": "String", "visibility": "Private", "defaultValue": None},
        {"name": "FULLNAME", "type": "String", "visibility": "Private", "defaultValue": None},
        {"name": "GENDER", "type": "String", "visibility": "Private", "defaultValue": None},
        {"name": "POSTCODE", "type": "String", "visibility": "Private", "defaultValue": None},
        {"name": "AGE", "type": "Numeric", "visibility": "Private", "defaultValue": None},
        {"name": "LIFETIME_VALUE", "type": "Numeric", "visibility": "Private", "defaultValue": 0},
        {"name": "BIRTHDAY", "type": "Date", "visibility": "Private", "defaultValue": None},
        {"name": "LAST_ORDER_DATE", "type": "Date", "visibility": "Private", "defaultValue": None},
        {"name": "VIP", "type": "Boolean", "visibility": "Private", "defaultValue": False},
    ],
    "lists": [
        {"id": 1001, "name": "Newsletter", "visibility": "Public"},
        {"id": 1002, "name": "VIP Customers", "visibility": "Private"},
        {"id": 1003, "name": "Churn Risk", "visibility": "Private"},
        {"id": 1004, "name": "Engage: High Value", "visibility": "Private"},
        {"id": 1005, "name": "Test Segment", "visibility": "Private"},
    ],
    "programs": [
        {"id": 2001, "name": "Welcome Journey", "status": "Active", "dateCreated": _CREATED},
        {"id": 2002, "name": "Win-back", "status": "Draft", "dateCreated": _CREATED},
        {"id": 2003, "name": "Birthday Offer", "status": "Active", "dateCreated": _CREATED},
        {"id": 2004, "name": "Old Promo", "status": "Deactivated", "dateCreated": _CREATED},
    ],
    "campaigns": [
        _campaign(3001, "Black Friday", "Black Friday: 30% off everything"),
        _campaign(3002, "Monthly Digest", "Your monthly digest"),
        _campaign(3003, "Product Launch", "Meet our newest product"),
    ],
    "contacts": [
        {
            "contactId": 1,
            "identifiers": {"email": "alice@example.com", "mobileNumber": "447700900001"},
            "dataFields": {"FIRSTNAME": "Alice"},
            "channelProperties": {
                "email": {"emailType": "html", "optInType": "single", "status": "subscribed"},
                "sms": {"status": "subscribed"},
            },
            "lists": [{"id": 1001, "status": "subscribed"}],
            "created": _CREATED,
            "updated": _CREATED,
        },
        {
            "contactId": 2,
            "identifiers": {"email": "bob@example.com"},
            "dataFields": {},
            "channelProperties": {
                "email": {"emailType": "html", "optInType": "single", "status": "subscribed"}
            },
            "lists": [],
            "created": _CREATED,
            "updated": _CREATED,
        },
    ],
}

_EMPTY: dict[str, Any] = {
    "accountId": 1,
    "nextContactId": FIRST_NEW_CONTACT_ID,
    "dataFields": [],
    "lists": [],
    "programs": [],
    "campaigns": [],
    "contacts": [],
}

SEEDS = {"demo": _DEMO, "empty": _EMPTY}


def seed_document(name: str) -> dict[str, Any]:
    """A fresh deep copy of a named seed; unknown names raise ValueError listing the choices."""
    try:
        return copy.deepcopy(SEEDS[name])
    except KeyError:
        raise ValueError(f"unknown sandbox seed {name!r}; expected one of {sorted(SEEDS)}") from None


def load_data_file(path: str | Path) -> dict[str, Any]:
    """Read a `--data FILE` document (the `GET /_sandbox/state` shape); errors name the file."""
    file = Path(path)
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read sandbox data file {file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{file}: expected a JSON object at the top level")
    return doc


def merge_documents(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Lay a data file over a seed: collections are merged by id (data-fields by name)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if key in ("dataFields", "lists", "programs", "campaigns", "contacts") and isinstance(value, list):
            id_key = "name" if key == "dataFields" else ("contactId" if key == "contacts" else "id")
            merged = {item.get(id_key): item for item in out.get(key, []) if isinstance(item, dict)}
            extras_without_id = []
            for item in value:
                if isinstance(item, dict) and item.get(id_key) is not None:
                    merged[item[id_key]] = item
                else:
                    extras_without_id.append(item)
            out[key] = list(merged.values()) + extras_without_id
        else:
            out[key] = copy.deepcopy(value)
    return out
