"""Handlers of the v2 family: account info, data fields, address books, programs, enrolments,
campaigns, transactional email and marketing SMS.

v2 rules honoured here: body keys are matched case-insensitively, numeric strings are accepted
for integers, errors are `{"message": "... ERROR_*"}`.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC
from typing import Any

from engine.sandbox.errors import ApiError, v2_error
from engine.sandbox.routing import Call, Reply
from engine.sandbox.store import DATA_FIELD_TYPES, Account, AddressBook, utc_now
from engine.sandbox.validate import (
    Invalid,
    as_int,
    as_int_list,
    fold_keys,
    is_email,
    parse_datetime,
    sender_address,
)

_RESERVED_LIST_NAMES = {"test", "all contacts"}
_DATA_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}$")
MAX_ENROL_CONTACTS = 25
MAX_ENROL_ADDRESS_BOOKS = 10
MAX_SEND_CONTACTS = 10
MAX_EMAIL_RECIPIENTS = 100
MAX_SMS_LENGTH = 1600


def _invalid(message: str) -> ApiError:
    return v2_error(400, f"{message} ERROR_PARAMETER_INVALID")


def _object_body(call: Call) -> dict[str, Any]:
    if not isinstance(call.body, dict):
        raise _invalid("The request body must be a JSON object.")
    return fold_keys(call.body)


def _int(value: Any, field: str, *, required: bool = True) -> int | None:
    try:
        return as_int(value, field, required=required)
    except Invalid as exc:
        raise _invalid(exc.message + ".") from None


def _ints(value: Any, field: str) -> list[int]:
    try:
        return as_int_list(value, field)
    except Invalid as exc:
        raise _invalid(exc.message + ".") from None


def _path_int(call: Call, name: str) -> int:
    raw = call.params[name]
    try:
        return int(raw)
    except ValueError:
        raise _invalid(f"The value '{raw}' is not valid for {name}.") from None


def _page(call: Call, items: list[Any]) -> list[Any]:
    """`select` (1-1000, default 1000) and `skip` (>= 0, default 0) paging."""
    select = _int(call.query.get("select", "1000"), "select")
    skip = _int(call.query.get("skip", "0"), "skip")
    assert select is not None and skip is not None
    if not 1 <= select <= 1000:
        raise _invalid("select must be between 1 and 1000.")
    if skip < 0:
        raise _invalid("skip must be 0 or more.")
    return items[skip : skip + select]


def _account(call: Call) -> Account:
    return call.account


# -- account info and data fields -------------------------------------------------------------
def account_info(call: Call) -> Reply:
    acc = _account(call)
    props = [
        ("Name", "String", "Sandbox account"),
        ("MainEmail", "String", acc.user),
        ("ApiEndpoint", "String", call.base_url),
        ("TimeZoneIana", "String", "Europe/London"),
        ("AvailableEmailSendsCredits", "Int32", "100000"),
        ("AvailableSmsSendsCredits", "Int32", "10000"),
        ("ApiCallsInLastHour", "Int32", "0"),
        ("ApiCallsRemaining", "Int32", "2000"),
    ]
    return Reply(200, {"id": acc.id, "properties": [{"name": n, "type": t, "value": v} for n, t, v in props]})


def list_data_fields(call: Call) -> Reply:
    return Reply(200, [dict(df) for df in _account(call).data_fields.values()])


def create_data_field(call: Call) -> Reply:
    body = _object_body(call)
    acc = _account(call)
    name = body.get("name")
    if not isinstance(name, str) or not _DATA_FIELD_NAME.match(name):
        raise _invalid("Name must start with a letter and hold up to 20 letters, digits or underscores.")
    ftype = body.get("type", "String")
    if ftype not in DATA_FIELD_TYPES:
        raise _invalid(f"Type must be one of {', '.join(DATA_FIELD_TYPES)}.")
    visibility = body.get("visibility", "Private")
    if visibility not in ("Private", "Public"):
        raise _invalid("Visibility must be Private or Public.")
    if name.upper() in acc.data_fields:
        raise v2_error(400, "Data field name is not unique. ERROR_NON_UNIQUE_DATAFIELD")
    field = {
        "name": name.upper(),
        "type": ftype,
        "visibility": visibility,
        "defaultValue": body.get("defaultvalue"),
    }
    acc.data_fields[name.upper()] = field
    return Reply(200, dict(field))


# -- address books ----------------------------------------------------------------------------
def list_address_books(call: Call) -> Reply:
    books = sorted(_account(call).lists.values(), key=lambda b: b.id)
    return Reply(200, [b.as_json() for b in _page(call, books)])


def _book(call: Call, param: str = "addressBookId") -> AddressBook:
    book_id = _path_int(call, param)
    book = _account(call).lists.get(book_id)
    if book is None:
        raise v2_error(404, "Error: ERROR_ADDRESSBOOK_NOT_FOUND")
    return book


def get_address_book(call: Call) -> Reply:
    return Reply(200, _book(call).as_json())


def create_address_book(call: Call) -> Reply:
    body = _object_body(call)
    acc = _account(call)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        raise _invalid("Name is required and must be at most 128 characters.")
    visibility = body.get("visibility") or "Private"
    if visibility not in ("Private", "Public"):
        raise _invalid("Visibility must be Private or Public.")
    lowered = name.strip().lower()
    if lowered in _RESERVED_LIST_NAMES or any(b.name.lower() == lowered for b in acc.lists.values()):
        raise v2_error(400, "An address book with this name already exists. ERROR_ADDRESSBOOK_DUPLICATE")
    book_id = max(acc.lists, default=1000) + 1
    book = AddressBook(book_id, name.strip(), visibility)
    acc.lists[book_id] = book
    return Reply(200, book.as_json())


def remove_list_member(call: Call) -> Reply:
    """204 whether or not the contact was a member (idempotent); unknown contact id -> 404."""
    book = _book(call)
    contact_id = _path_int(call, "contactId")
    contact = _account(call).contacts.get(contact_id)
    if contact is None or contact.deleted:
        raise v2_error(404, "Error: ERROR_CONTACT_NOT_FOUND")
    book.members.pop(contact_id, None)
    return Reply(204)


# -- programs and enrolments ------------------------------------------------------------------
def list_programs(call: Call) -> Reply:
    programs = sorted(_account(call).programs.values(), key=lambda p: p["id"])
    return Reply(200, [dict(p) for p in _page(call, programs)])


def get_program(call: Call) -> Reply:
    program = _account(call).programs.get(_path_int(call, "programId"))
    if program is None:
        raise v2_error(404, "Error: ERROR_PROGRAM_NOT_FOUND")
    return Reply(200, dict(program))


def enrol(call: Call) -> Reply:
    body = _object_body(call)
    acc = _account(call)
    program_id = _int(body.get("programid"), "programId")
    program = acc.programs.get(program_id)  # type: ignore[arg-type]
    if program is None:
        raise v2_error(404, "Error: ERROR_PROGRAM_NOT_FOUND")
    if program.get("status") != "Active":
        raise v2_error(422, "Error: ERROR_PROGRAM_NOT_ACTIVE")
    contacts = _ints(body.get("contacts"), "contacts")
    books = _ints(body.get("addressbooks"), "addressBooks")
    if not contacts and not books:
        raise v2_error(400, "Error: ERROR_ENROLMENT_INVALID")
    if contacts and books:
        raise v2_error(400, "Pass contacts or addressBooks, not both. ERROR_ENROLMENT_INVALID")
    if len(contacts) > MAX_ENROL_CONTACTS:
        raise _invalid(f"A maximum of {MAX_ENROL_CONTACTS} contacts can be enrolled per call.")
    if len(books) > MAX_ENROL_ADDRESS_BOOKS:
        raise v2_error(400, "Error: ERROR_ADDRESSBOOK_TOOMANY")
    if any(b not in acc.lists for b in books):
        raise v2_error(400, "Error: ERROR_ADDRESSBOOK_NOT_FOUND")
    if any(c not in acc.contacts or acc.contacts[c].deleted for c in contacts):
        raise v2_error(400, "Error: ERROR_CONTACT_NOT_FOUND")
    _check_enrolment_allowance(call, acc)
    enrolment = {
        "id": str(uuid.uuid4()),
        "programId": program_id,
        "status": "Processing",
        "dateCreated": utc_now(),
        "contacts": contacts or None,
        "addressBooks": books or None,
    }
    acc.enrolments.append(enrolment)
    return Reply(201, dict(enrolment))


def _check_enrolment_allowance(call: Call, acc: Account) -> None:
    """The documented 20 enrolment calls per account per hour, when rate limits are on."""
    options = call.options
    cap = getattr(options, "enrolments_per_hour", None)
    if not cap:
        return
    window = float(getattr(options, "enrolment_window", 3600.0))
    times = acc.enrolment_times
    while times and times[0] <= call.now - window:
        times.popleft()
    if len(times) >= cap:
        retry = max(1, math.ceil(times[0] + window - call.now))
        raise v2_error(400, "Error: ERROR_ENROLMENT_ALLOWANCE_EXCEEDED", {"Retry-After": str(retry)})
    times.append(call.now)


def get_enrolment(call: Call) -> Reply:
    wanted = call.params["enrolmentId"].lower()
    for enrolment in _account(call).enrolments:
        if enrolment["id"] == wanted:
            return Reply(200, dict(enrolment))
    raise v2_error(404, "Error: ERROR_ENROLMENT_NOT_FOUND")


# -- campaigns --------------------------------------------------------------------------------
def list_campaigns(call: Call) -> Reply:
    campaigns = sorted(_account(call).campaigns.values(), key=lambda c: c["id"])
    return Reply(200, [dict(c) for c in _page(call, campaigns)])


def send_campaign(call: Call) -> Reply:
    return _send(call, optimised=False)


def send_campaign_optimised(call: Call) -> Reply:
    return _send(call, optimised=True)


def _send(call: Call, *, optimised: bool) -> Reply:
    """202 Accepted with the send object (OAS-V2's status: the send is queued, not done)."""
    body = _object_body(call)
    acc = _account(call)
    campaign_id = _int(body.get("campaignid"), "campaignId")
    if campaign_id not in acc.campaigns:
        raise v2_error(404, "Error: ERROR_CAMPAIGN_NOT_FOUND")
    contacts = _ints(body.get("contactids"), "contactIds")
    books = _ints(body.get("addressbookids"), "addressBookIds")
    if not contacts and not books:
        raise _invalid("At least one address book or contact id is required.")
    if len(contacts) > MAX_SEND_CONTACTS:
        raise _invalid(f"A maximum of {MAX_SEND_CONTACTS} contacts can be sent to per call.")
    if any(b not in acc.lists for b in books):
        raise v2_error(400, "Error: ERROR_ADDRESSBOOK_NOT_FOUND")
    if any(c not in acc.contacts or acc.contacts[c].deleted for c in contacts):
        raise v2_error(
            400,
            "One or more of the supplied contacts were not found. Send not permitted. "
            "ERROR_CONTACT_NOT_FOUND",
        )
    send_date = None
    raw_date = body.get("senddate")
    if raw_date is not None and not optimised:
        parsed = parse_datetime(raw_date)
        if parsed is None:
            raise _invalid("sendDate must be an ISO-8601 date-time.")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        send_date = parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    split = body.get("splittestoptions") if not optimised else None
    now = utc_now()
    send = {
        "id": str(uuid.uuid4()),
        "campaignId": campaign_id,
        "addressBookIds": books,
        "contactIds": contacts,
        "sendDate": send_date or now,
        "splitTestOptions": split,
        "status": "Scheduled" if send_date and send_date > now else "Sending",
        "sendTimeOptimised": optimised,
    }
    acc.campaign_sends.append(send)
    reply = dict(send)
    del reply["sendTimeOptimised"]
    return Reply(202, reply)


# -- transactional email and marketing SMS ----------------------------------------------------
def _addresses(body: dict[str, Any], key: str, label: str, *, required: bool) -> list[str]:
    value = body.get(key)
    if value is None or value == []:
        if required:
            raise _invalid(f"{label} is required.")
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"{label} must be an array of email addresses.")
    if len(value) > MAX_EMAIL_RECIPIENTS:
        raise _invalid(f"{label} can hold at most {MAX_EMAIL_RECIPIENTS} addresses.")
    for address in value:
        if not is_email(address.strip()):
            raise _invalid(f"{address} is not a valid email address.")
    return [v.strip() for v in value]


def send_email(call: Call) -> Reply:
    body = _object_body(call)
    to = _addresses(body, "toaddresses", "ToAddresses", required=True)
    cc = _addresses(body, "ccaddresses", "CCAddresses", required=False)
    bcc = _addresses(body, "bccaddresses", "BCCAddresses", required=False)
    subject = body.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        raise _invalid("Subject is required.")
    html = body.get("htmlcontent")
    text = body.get("plaintextcontent")
    if not (isinstance(html, str) and html) and not (isinstance(text, str) and text):
        raise _invalid("HtmlContent or PlainTextContent is required.")
    sender = body.get("fromaddress")
    if sender is not None and (not isinstance(sender, str) or sender_address(sender) is None):
        raise _invalid("FromAddress is not a valid email address.")
    metadata = body.get("metadata")
    if metadata is not None and len(metadata if isinstance(metadata, str) else str(metadata)) > 1500:
        raise _invalid("Metadata can be at most 1500 characters.")
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list) or not all(
        isinstance(a, dict) and {"filename", "mimetype", "content"} <= set(fold_keys(a)) for a in attachments
    ):
        raise _invalid("Attachments need FileName, MimeType and Content.")
    _account(call).emails.append(
        {
            "id": str(uuid.uuid4()),
            "toAddresses": to,
            "ccAddresses": cc,
            "bccAddresses": bcc,
            "subject": subject,
            "fromAddress": sender,
            "htmlContent": html,
            "plainTextContent": text,
            "metadata": metadata,
            "attachments": len(attachments),
            "sentOn": utc_now(),
        }
    )
    return Reply(200)


def send_sms(call: Call) -> Reply:
    number = call.params["telephoneNumber"]
    if not number.isdigit() or not 7 <= len(number) <= 15:
        raise _invalid(f"'{number}' is not a valid telephone number (international digits, no '+').")
    body = _object_body(call)
    message = body.get("message")
    if not isinstance(message, str) or not message:
        raise _invalid("Message is required.")
    if len(message) > MAX_SMS_LENGTH:
        raise _invalid(f"Message can be at most {MAX_SMS_LENGTH} characters.")
    _account(call).sms.append(
        {"id": str(uuid.uuid4()), "to": number, "message": message, "sentOn": utc_now()}
    )
    return Reply(204)
