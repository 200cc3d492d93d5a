"""Handlers of the v3 contacts family: get, create-or-update (PATCH) and delete a contact.

Contacts are unique by email (case-insensitive) and by mobile number (digits only); ids are
ints. PATCH creates (201) or updates (200), honours the merge option for data fields, `null`
clears a data field, a foreign identifier gives 409, `lists` adds memberships.
"""

from __future__ import annotations

from typing import Any

from engine.sandbox.errors import ApiError, v3_error
from engine.sandbox.routing import Call, Reply
from engine.sandbox.store import (
    EMAIL_STATUSES,
    EMAIL_TYPES,
    OPT_IN_TYPES,
    SMS_STATUSES,
    Account,
    Contact,
    utc_now,
)
from engine.sandbox.validate import finite_number, is_email, parse_datetime, phone_key

MERGE_OPTIONS = ("overwrite", "overwrite-if-not-empty", "overwrite-if-empty")
_IDENTIFIERS = {
    "email": "email",
    "mobilenumber": "mobileNumber",
    "mobile-number": "mobileNumber",
    "contactid": "contactId",
    "contact-id": "contactId",
}
MAX_LISTS = 100


def _bad(code: str, description: str, item: str | None = None) -> ApiError:
    details = [{"item": item, "description": description}] if item is not None else None
    return v3_error(400, code, description, details)


def _key(call: Call) -> tuple[str, str | int]:
    """(identifier, normalised value) of the path, or a 400 naming what is wrong."""
    raw_ident = call.params["identifier"]
    value = call.params["value"]
    identifier = _IDENTIFIERS.get(raw_ident.lower())
    if identifier is None:
        raise _bad(
            "contacts:invalidIdentifier",
            f"The identifier '{raw_ident}' is not supported; use email, mobileNumber or contactId",
        )
    invalid = v3_error(
        400, "contacts:invalidId", f"The id value '{value}' is invalid for the identifier '{raw_ident}'"
    )
    if identifier == "email":
        if not is_email(value):
            raise invalid
        return identifier, value.lower()
    if identifier == "mobileNumber":
        key = phone_key(value)
        if key is None:
            raise invalid
        return identifier, key
    if not value.isdigit():
        raise invalid
    return identifier, int(value)


def _not_found(call: Call) -> ApiError:
    return v3_error(
        404,
        "contacts:contactNotFound",
        "The following contacts could not be found",
        [
            {
                "item": call.params["value"],
                "description": f"Not found using the identifier '{call.params['identifier']}'",
            }
        ],
    )


def _live(call: Call) -> tuple[Account, Contact]:
    acc: Account = call.account
    identifier, key = _key(call)
    contact = acc.by_identifier(identifier, key)
    if contact is None or contact.deleted:
        raise _not_found(call)
    return acc, contact


def get_contact(call: Call) -> Reply:
    acc, contact = _live(call)
    return Reply(200, acc.contact_json(contact))


def delete_contact(call: Call) -> Reply:
    """Deletes the whole contact (to the recycle bin: a later PATCH undeletes it)."""
    acc, contact = _live(call)
    contact.deleted = True
    contact.updated = utc_now()
    for book in acc.lists.values():
        book.members.pop(contact.id, None)
    return Reply(200, {"contactId": contact.id})


def patch_contact(call: Call) -> Reply:
    acc: Account = call.account
    identifier, key = _key(call)
    merge = call.query.get("merge-option", "overwrite")
    if merge not in MERGE_OPTIONS:
        raise _bad(
            "contacts:invalidMergeOption",
            f"merge-option must be one of {', '.join(MERGE_OPTIONS)}",
            "merge-option",
        )
    body = call.body if call.body is not None else {}
    if not isinstance(body, dict):
        raise v3_error(400, "contacts:badJson", "The request body must be a JSON object")
    ids = _identifiers(body)
    contact = acc.by_identifier(identifier, key)
    created = contact is None
    if created and identifier == "contactId":
        raise _not_found(call)
    if created:
        # The path value is an identifier too; the body's identifiers win when both are given.
        path_value = call.params["value"]
        ids.setdefault(identifier, path_value if identifier == "email" else str(key))
        if not ids.get("email") and not ids.get("mobileNumber"):
            raise _bad(
                "contacts:noValidIdentifiers",
                "A new contact needs an email or mobileNumber identifier",
                "identifiers",
            )
    target_id = None if contact is None else contact.id
    _check_collisions(acc, ids, target_id)
    data = _data_fields(acc, body.get("dataFields"))
    lists = _lists(acc, body.get("lists"))
    channels = _channels(body.get("channelProperties"))
    consent = _consent(body.get("consentRecords"))

    now = utc_now()
    if contact is None:
        contact = Contact(id=acc.allocate_contact_id(), created=now, updated=now)
        acc.contacts[contact.id] = contact
    elif contact.deleted:
        contact.deleted = False
    had_email = bool(contact.email)
    if "email" in ids:
        acc.set_email(contact, ids["email"])
    if "mobileNumber" in ids:
        acc.set_mobile(contact, ids["mobileNumber"])
    _merge_data(contact, data, merge)
    _apply_channels(contact, channels, new_email=not had_email)
    if contact.mobile and contact.sms_status is None:
        contact.sms_status = "subscribed"
    for list_id in lists:
        acc.lists[list_id].members.setdefault(contact.id, "subscribed")
    if consent:
        contact.consent.extend(consent)
    contact.updated = now
    return Reply(201 if created else 200, acc.contact_json(contact))


def _identifiers(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("identifiers")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad("contacts:validationFailed", "identifiers must be an object", "identifiers")
    out: dict[str, str] = {}
    for name in ("email", "mobileNumber"):
        value = raw.get(name)
        if value is None or value == "":  # Segment's enrol action may send "" for an absent identifier
            continue
        if name == "email" and not is_email(value):
            raise v3_error(
                400, "contacts:invalidId", f"The id value '{value}' is invalid for the identifier 'email'"
            )
        if name == "mobileNumber" and phone_key(value) is None:
            raise v3_error(
                400,
                "contacts:invalidId",
                f"The id value '{value}' is invalid for the identifier 'mobileNumber'",
            )
        out[name] = value
    return out


def _check_collisions(acc: Account, ids: dict[str, str], own_id: int | None) -> None:
    for name, value in ids.items():
        key = value.lower() if name == "email" else phone_key(value)
        other = acc.by_identifier(name, key or "")
        if other is not None and other.id != own_id:
            raise v3_error(
                409,
                "contacts:idAlreadyExists",
                "One or more identifiers already belong to another contact",
                [
                    {
                        "item": value,
                        "description": f"The identifier '{name}' is already used by contact {other.id}",
                    }
                ],
            )


def _data_fields(acc: Account, raw: Any) -> dict[str, Any]:
    """Validated data-field values keyed by the account's field name (None = clear)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad("contacts:validationFailed", "dataFields must be an object", "dataFields")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        field = acc.data_fields.get(str(name).upper())
        if field is None:
            raise _bad("contacts:invalidDataField", f"The data field '{name}' does not exist", str(name))
        out[field["name"]] = _coerce(field, value)
    return out


def _coerce(field: dict[str, Any], value: Any) -> Any:
    name, ftype = field["name"], field["type"]
    if value is None:
        return None
    wrong = _bad(
        "contacts:invalidDataFieldValue", f"The value for data field '{name}' is not a valid {ftype}", name
    )
    if ftype == "String":
        if not isinstance(value, str):
            raise wrong
        return value
    if ftype == "Numeric":
        if isinstance(value, str) and not value.strip():
            return None
        number = finite_number(value)
        if number is None:
            raise wrong
        return number
    if ftype == "Date":
        if parse_datetime(value) is None:
            raise wrong
        return value
    if ftype == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise wrong
    return value


def _merge_data(contact: Contact, data: dict[str, Any], merge: str) -> None:
    for name, value in data.items():
        empty_new = value is None or value == ""
        current = contact.data.get(name)
        if merge == "overwrite-if-not-empty" and empty_new:
            continue
        if merge == "overwrite-if-empty" and current not in (None, ""):
            continue
        if value is None:
            contact.data.pop(name, None)
        else:
            contact.data[name] = value


def _lists(acc: Account, raw: Any) -> list[int]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LISTS:
        raise _bad("contacts:validationFailed", f"lists must be an array of 1-{MAX_LISTS} list ids", "lists")
    out = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int):
            raise _bad("contacts:validationFailed", "lists must contain integer list ids", "lists")
        if item not in acc.lists:
            raise _bad("contacts:invalidListId", f"The list {item} does not exist", str(item))
        out.append(item)
    return out


def _enum(value: Any, allowed: tuple[str, ...], item: str) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise _bad("contacts:validationFailed", f"{item} must be one of {', '.join(allowed)}", item)
    return str(value)


def _channels(raw: Any) -> dict[str, Any]:
    """Checked channelProperties: {"email": {...}, "sms": {...}} with only supplied keys."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad("contacts:validationFailed", "channelProperties must be an object", "channelProperties")
    out: dict[str, Any] = {}
    email = raw.get("email")
    if email is not None:
        if not isinstance(email, dict):
            raise _bad(
                "contacts:validationFailed",
                "channelProperties.email must be an object",
                "channelProperties.email",
            )
        resub = email.get("resubscribeOptions")
        if resub is not None and not isinstance(resub, dict):
            raise _bad(
                "contacts:validationFailed",
                "resubscribeOptions must be an object",
                "channelProperties.email.resubscribeOptions",
            )
        out["email"] = {
            "emailType": _enum(email.get("emailType"), EMAIL_TYPES, "channelProperties.email.emailType"),
            "optInType": _enum(email.get("optInType"), OPT_IN_TYPES, "channelProperties.email.optInType"),
            "status": _enum(email.get("status"), EMAIL_STATUSES, "channelProperties.email.status"),
            "resubscribe": resub,
        }
    sms = raw.get("sms")
    if sms is not None:
        if not isinstance(sms, dict):
            raise _bad(
                "contacts:validationFailed",
                "channelProperties.sms must be an object",
                "channelProperties.sms",
            )
        out["sms"] = {"status": _enum(sms.get("status"), SMS_STATUSES, "channelProperties.sms.status")}
    return out


def _apply_channels(contact: Contact, channels: dict[str, Any], *, new_email: bool) -> None:
    """Omitted email status: unchanged, or `subscribed` for a new email; verifiedDouble -> pending.

    Re-subscribing an unsubscribed contact without `resubscribeWithNoChallenge` (schema default
    true) sends a challenge, leaving the status `pendingOptIn` until confirmed.
    """
    email = channels.get("email", {})
    if email.get("emailType"):
        contact.email_type = email["emailType"]
    if email.get("optInType"):
        contact.opt_in_type = email["optInType"]
    status = email.get("status")
    if contact.email:
        if status is None and (new_email or contact.email_status is None):
            status = "subscribed"
        if status == "subscribed":
            resub = email.get("resubscribe") or {}
            challenge = contact.email_status in ("unsubscribed", "pendingOptIn") and not resub.get(
                "resubscribeWithNoChallenge", True
            )
            if contact.opt_in_type == "verifiedDouble" and (
                new_email or contact.email_status != "subscribed"
            ):
                challenge = True
            status = "pendingOptIn" if challenge else "subscribed"
        if status is not None:
            contact.email_status = status
    sms_status = channels.get("sms", {}).get("status")
    if sms_status is not None:
        contact.sms_status = sms_status


def _consent(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not 1 <= len(raw) <= 5 or not all(isinstance(r, dict) for r in raw):
        raise _bad(
            "contacts:validationFailed", "consentRecords must be an array of 1-5 objects", "consentRecords"
        )
    now = utc_now()
    return [{**r, "dateTimeCreated": now} for r in raw]
