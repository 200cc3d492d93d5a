"""Handlers of the CPaaS (omnichannel) family: send a message, read it back.

Validation failures answer 400 `{"message", "validationFailures": [{"property", "message"}]}`
(the property MAG-SMS reads). A message that needs Unicode while `allowUnicode` is off is
accepted (201) but recorded with status `failed`, as the real service reports it later.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from engine.sandbox.errors import cpaas_error
from engine.sandbox.routing import Call, Reply
from engine.sandbox.store import Account, utc_now

CHANNELS = ("sms", "whatsapp", "rcs", "push", "email", "fbMessenger", "line", "viber")
SHORTEN_LINKS = ("on", "marked", "off")
MAX_BODY = 2000
_PHONE = re.compile(r"^\+?\d{7,15}$")
# GSM 03.38 basic set plus its extension table: anything else needs Unicode (UCS-2).
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ!\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f"
)


def _needs_unicode(text: str) -> bool:
    return any(ch not in _GSM for ch in text)


def send_message(call: Call) -> Reply:
    body = call.body
    if not isinstance(body, dict):
        raise cpaas_error(
            400, "The request is invalid", [{"property": "", "message": "A JSON object is required"}]
        )
    failures: list[dict[str, str]] = []

    def fail(prop: str, message: str) -> None:
        failures.append({"property": prop, "message": message})

    to = body.get("to")
    rules = body.get("rules")
    text = body.get("body")
    if not isinstance(to, dict) or not any(
        to.get(k) for k in ("phoneNumber", "email", "profileId", "fbMessengerId")
    ):
        fail("to", "'to' must name a phoneNumber, email, profileId or fbMessengerId")
        to = to if isinstance(to, dict) else {}
    if not isinstance(rules, list) or not rules:
        fail("rules", "'rules' must list at least one channel")
        rules = []
    else:
        for channel in rules:
            if channel not in CHANNELS:
                fail("rules", f"Unknown channel '{channel}'")
    if not isinstance(text, str) or not text:
        fail("body", "'body' is required")
        text = ""
    elif len(text) > MAX_BODY:
        fail("body", f"'body' can be at most {MAX_BODY} characters")
    if "sms" in rules:
        phone = to.get("phoneNumber")
        if phone is None:
            fail("to.phoneNumber", "A phoneNumber is required for the sms channel")
        elif not isinstance(phone, str) or not _PHONE.match(phone):
            fail("to.phoneNumber", "phoneNumber must be an international number (digits, optional leading +)")
    options = body.get("channelOptions") or {}
    sms_options: dict[str, Any] = {}
    if not isinstance(options, dict) or not isinstance(options.get("sms", {}), dict):
        fail("channelOptions", "channelOptions.sms must be an object")
    else:
        sms_options = options.get("sms") or {}
        sender = sms_options.get("from")
        if sender is not None and (not isinstance(sender, str) or len(sender) < 3):
            fail("channelOptions.sms.from", "'from' must be at least 3 characters")
        allow = sms_options.get("allowUnicode")
        if allow is not None and not isinstance(allow, bool):
            fail("channelOptions.sms.allowUnicode", "'allowUnicode' must be a boolean")
    shorten = body.get("shortenLinks")
    if shorten is not None and shorten not in SHORTEN_LINKS:
        fail("shortenLinks", f"'shortenLinks' must be one of {', '.join(SHORTEN_LINKS)}")
    if failures:
        raise cpaas_error(400, "The request is invalid", failures)

    now = utc_now()
    unicode_blocked = "sms" in rules and _needs_unicode(text) and sms_options.get("allowUnicode") is not True
    message = {
        **body,
        "messageId": str(uuid.uuid4()),
        "sentOn": None,
        "status": "failed" if unicode_blocked else "processing",
        "statusDetails": (
            {"channel": "sms", "reason": "The message contains Unicode characters and allowUnicode is off"}
            if unicode_blocked
            else {}
        ),
        "_createdOn": now,
        "_createdBy": call.account.user,
        "_updatedOn": now,
        "_updatedBy": call.account.user,
    }
    account: Account = call.account
    account.cpaas_messages[message["messageId"]] = message
    return Reply(201, dict(message))


def get_message(call: Call) -> Reply:
    message = call.account.cpaas_messages.get(call.params["messageId"].lower())
    if message is None:
        raise cpaas_error(404, f"Message '{call.params['messageId']}' was not found")
    return Reply(200, dict(message))
