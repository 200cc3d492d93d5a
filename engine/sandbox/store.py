"""The in-memory state of one sandbox account and its JSON (state-document) form.

An account owns data fields, lists (address books) with memberships, programs, campaigns,
contacts indexed by email and mobile number, and the logs of what was "sent" (enrolments,
campaign sends, transactional emails, marketing SMS, CPaaS messages). Load and snapshot use the
same document shape, so `GET /_sandbox/state` output can be fed back as `--data FILE`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.sandbox.validate import phone_key

EMAIL_STATUSES = ("subscribed", "unsubscribed", "suppressed")
SMS_STATUSES = ("noSubscription", "subscribed", "unsubscribed", "suppressed")
EMAIL_TYPES = ("html", "plainText")
OPT_IN_TYPES = ("unknown", "single", "double", "verifiedDouble")
DATA_FIELD_TYPES = ("String", "Numeric", "Date", "Boolean")


def utc_now() -> str:
    """Current time as the API writes it: ISO-8601 UTC with a 'Z'."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Contact:
    """A contact; channel values are kept in the request vocabulary (html, single, subscribed)."""

    id: int
    email: str | None = None
    mobile: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    email_type: str = "html"
    opt_in_type: str = "single"
    email_status: str | None = None
    sms_status: str | None = None
    consent: list[dict[str, Any]] = field(default_factory=list)
    created: str = ""
    updated: str = ""
    deleted: bool = False


@dataclass
class AddressBook:
    id: int
    name: str
    visibility: str = "Private"
    members: dict[int, str] = field(default_factory=dict)  # contact id -> list status

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "visibility": self.visibility,
            "contacts": len(self.members),
        }


class Account:
    """One Dotdigital account: its data and the indexes the handlers need."""

    def __init__(self, user: str, doc: dict[str, Any]) -> None:
        self.user = user
        self.id = int(doc.get("accountId", 1))
        self.data_fields: dict[str, dict[str, Any]] = {}
        self.lists: dict[int, AddressBook] = {}
        self.programs: dict[int, dict[str, Any]] = {}
        self.campaigns: dict[int, dict[str, Any]] = {}
        self.contacts: dict[int, Contact] = {}
        self.by_email: dict[str, int] = {}
        self.by_mobile: dict[str, int] = {}
        self.next_contact_id = int(doc.get("nextContactId", 100))
        self.enrolments: list[dict[str, Any]] = list(doc.get("enrolments", []))
        self.campaign_sends: list[dict[str, Any]] = list(doc.get("campaignSends", []))
        self.emails: list[dict[str, Any]] = list(doc.get("emails", []))
        self.sms: list[dict[str, Any]] = list(doc.get("sms", []))
        self.cpaas_messages: dict[str, dict[str, Any]] = {
            m["messageId"]: m
            for m in doc.get("cpaasMessages", [])
            if isinstance(m, dict) and "messageId" in m
        }
        self.enrolment_times: deque[float] = deque()
        loaders = (
            ("dataFields", self._load_data_field),
            ("lists", self._load_list),
            ("programs", self._load_program),
            ("campaigns", self._load_campaign),
            ("contacts", self._load_contact),
        )
        for collection, load in loaders:
            items = doc.get(collection, [])
            if not isinstance(items, list):
                raise ValueError(f"sandbox data: {collection} must be a list")
            for index, item in enumerate(items):
                try:
                    load(item)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
                    raise ValueError(f"sandbox data: {collection}[{index}]: {what}") from None

    def _load_data_field(self, df: dict[str, Any]) -> None:
        name = str(df["name"])
        ftype = df.get("type", "String")
        if ftype not in DATA_FIELD_TYPES:
            raise ValueError(f"type must be one of {', '.join(DATA_FIELD_TYPES)}")
        self.data_fields[name.upper()] = {
            "name": name,
            "type": ftype,
            "visibility": df.get("visibility", "Private"),
            "defaultValue": df.get("defaultValue"),
        }

    def _load_list(self, lst: dict[str, Any]) -> None:
        book = AddressBook(int(lst["id"]), str(lst["name"]), str(lst.get("visibility", "Private")))
        self.lists[book.id] = book

    def _load_program(self, program: dict[str, Any]) -> None:
        pid = int(program["id"])
        self.programs[pid] = {
            "id": pid,
            "name": str(program["name"]),
            "status": program.get("status", "Active"),
            "dateCreated": program.get("dateCreated") or utc_now(),
        }

    def _load_campaign(self, campaign: dict[str, Any]) -> None:
        cid = int(campaign["id"])
        self.campaigns[cid] = {
            "id": cid,
            "name": str(campaign["name"]),
            "subject": campaign.get("subject", ""),
            "fromName": campaign.get("fromName", ""),
            "fromAddress": campaign.get("fromAddress"),
            "htmlContent": None,
            "plainTextContent": None,
            "replyAction": campaign.get("replyAction", "Unset"),
            "replyToAddress": campaign.get("replyToAddress", ""),
            "isSplitTest": bool(campaign.get("isSplitTest", False)),
            "status": campaign.get("status", "Unsent"),
        }

    # -- contacts -------------------------------------------------------------------------------
    def _load_contact(self, raw: dict[str, Any]) -> None:
        ids = raw.get("identifiers", {})
        cid = int(raw["contactId"]) if raw.get("contactId") is not None else self.allocate_contact_id()
        channels = raw.get("channelProperties", {})
        email_ch = channels.get("email") or {}
        sms_ch = channels.get("sms") or {}
        contact = Contact(
            id=cid,
            data={k: v for k, v in (raw.get("dataFields") or {}).items() if v is not None},
            email_type=_lower_first(email_ch.get("emailType", "html")),
            opt_in_type=_lower_first(email_ch.get("optInType", "single")),
            email_status=email_ch.get("status", "subscribed" if ids.get("email") else None),
            sms_status=sms_ch.get("status", "subscribed" if ids.get("mobileNumber") else None),
            consent=list(raw.get("consentRecords", [])),
            created=raw.get("created") or utc_now(),
            updated=raw.get("updated") or utc_now(),
        )
        email, mobile = ids.get("email"), ids.get("mobileNumber")
        if cid in self.contacts:
            raise ValueError(f"contactId {cid} is used twice")
        if email and email.lower() in self.by_email:
            raise ValueError(f"email {email} belongs to two contacts")
        if mobile and phone_key(mobile) is None:
            raise ValueError(f"mobileNumber {mobile!r} is not a phone number")
        if mobile and phone_key(mobile) in self.by_mobile:
            raise ValueError(f"mobileNumber {mobile} belongs to two contacts")
        memberships = []
        for entry in raw.get("lists", []):
            list_id = int(entry["id"] if isinstance(entry, dict) else entry)
            status = entry.get("status", "subscribed") if isinstance(entry, dict) else "subscribed"
            if list_id not in self.lists:
                raise ValueError(f"list {list_id} does not exist")
            memberships.append((list_id, status))
        self.contacts[cid] = contact
        self.set_email(contact, email)
        self.set_mobile(contact, mobile)
        for list_id, status in memberships:
            self.lists[list_id].members[cid] = status
        if cid >= self.next_contact_id:
            self.next_contact_id = cid + 1

    def allocate_contact_id(self) -> int:
        cid = self.next_contact_id
        while cid in self.contacts:
            cid += 1
        self.next_contact_id = cid + 1
        return cid

    def set_email(self, contact: Contact, email: str | None) -> None:
        if contact.email:
            self.by_email.pop(contact.email.lower(), None)
        contact.email = email or None
        if email:
            self.by_email[email.lower()] = contact.id

    def set_mobile(self, contact: Contact, mobile: str | None) -> None:
        if contact.mobile:
            self.by_mobile.pop(contact.mobile, None)
        key = phone_key(mobile) if mobile else None
        contact.mobile = key
        if key:
            self.by_mobile[key] = contact.id

    def by_identifier(self, identifier: str, key: str | int) -> Contact | None:
        """Look a contact up (binned ones included) by a normalised identifier value."""
        if identifier == "email":
            cid = self.by_email.get(str(key).lower())
        elif identifier == "mobileNumber":
            cid = self.by_mobile.get(str(key))
        else:
            cid = int(key)
        return self.contacts.get(cid) if cid is not None else None

    def contact_lists(self, contact: Contact) -> list[dict[str, Any]]:
        return [
            {"id": book.id, "name": book.name, "status": book.members[contact.id]}
            for book in self.lists.values()
            if contact.id in book.members
        ]

    def contact_json(self, contact: Contact) -> dict[str, Any]:
        """The v3 contact object (field names as in Segment's `Contact` type)."""
        identifiers: dict[str, Any] = {}
        channels: dict[str, Any] = {}
        if contact.email:
            identifiers["email"] = contact.email
            channels["email"] = {
                "emailType": contact.email_type,
                "optInType": contact.opt_in_type,
                "status": contact.email_status or "subscribed",
            }
        if contact.mobile:
            identifiers["mobileNumber"] = contact.mobile
            channels["sms"] = {"status": contact.sms_status or "noSubscription"}
        if contact.email:
            status = channels["email"]["status"]
        elif contact.mobile:
            status = channels["sms"]["status"]
        else:
            status = "noSubscription"
        return {
            "contactId": contact.id,
            "status": status,
            "created": contact.created,
            "updated": contact.updated,
            "identifiers": identifiers,
            "dataFields": dict(contact.data),
            "channelProperties": channels,
            "lists": self.contact_lists(contact),
            "preferences": [],
            "consentRecords": list(contact.consent),
        }

    # -- snapshot -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy of everything (the `GET /_sandbox/state` document for this account)."""
        return {
            "user": self.user,
            "accountId": self.id,
            "nextContactId": self.next_contact_id,
            "dataFields": [dict(df) for df in self.data_fields.values()],
            "lists": [book.as_json() for book in self.lists.values()],
            "programs": [dict(p) for p in self.programs.values()],
            "campaigns": [dict(c) for c in self.campaigns.values()],
            "contacts": [
                self.contact_json(c)
                for c in sorted(self.contacts.values(), key=lambda c: c.id)
                if not c.deleted
            ],
            "enrolments": [dict(e) for e in self.enrolments],
            "campaignSends": [dict(s) for s in self.campaign_sends],
            "emails": [dict(e) for e in self.emails],
            "sms": [dict(s) for s in self.sms],
            "cpaasMessages": [dict(m) for m in self.cpaas_messages.values()],
        }


def _lower_first(text: str) -> str:
    """Accept PascalCase enum values in seed files (Html -> html, VerifiedDouble -> verifiedDouble)."""
    return text[:1].lower() + text[1:] if text else text
