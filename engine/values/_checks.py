"""Pure checks shared by the function library, the mapper and the schema: JSON types, e-mail, dates.

Kept free of JMESPath and jsonschema so both can use the same rule (a field declared
`format: email` and the `email()` function never disagree).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

#: JSON Schema's type names as predicates (booleans are not numbers; 2.0 is an integer).
TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: v.__class__ is str or isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def json_type(value: Any, *, integers: bool = False) -> str:
    """The JSON type name of a value for messages; `integers` tells integer from number."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if integers else "number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__

# An unquoted local part (RFC 5322 dot-atom): atoms of atext joined by single dots.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = rf"{_ATEXT}(?:\.{_ATEXT})*"
# Host labels: letters/digits/hyphens, no hyphen at either end; a final alphabetic TLD
# (or an IDNA `xn--` one), at least one dot.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{1,59})"
_ADDRESS = re.compile(rf"(?:{_LOCAL})@(?:{_LABEL}\.)+{_TLD}", re.ASCII)
# `Display Name <address>`: a name without angle brackets, then the address in brackets.
_NAMED = re.compile(r"(?P<name>[^<>]*?)\s*<\s*(?P<address>[^<>\s]+)\s*>", re.ASCII | re.DOTALL)


def is_address(text: str) -> bool:
    """True when `text` is exactly one bare e-mail address (no surrounding spaces)."""
    if len(text) > 254 or _ADDRESS.fullmatch(text) is None:
        return False
    return len(text.rpartition("@")[0]) <= 64


def is_email(text: str) -> bool:
    """True for a bare address or `Display Name <address>`; `text` must already be trimmed."""
    if is_address(text):
        return True
    named = _NAMED.fullmatch(text)
    return named is not None and is_address(named.group("address"))


_DATE_ONLY = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def parse_datetime(text: str) -> datetime | None:
    """Parse an ISO 8601 date or date-time (or an RFC 2822 date) into an aware UTC datetime.

    A date alone means midnight UTC and a date-time without an offset is read as UTC, so the
    result never depends on the server's time zone. Returns None when `text` is not a date.
    """
    text = text.strip()
    if not text or (not text[0].isdigit() and not text[0].isalpha()):
        return None
    only = _DATE_ONLY.fullmatch(text)
    try:
        if only is not None:
            parsed = datetime(int(only[1]), int(only[2]), int(only[3]), tzinfo=UTC)
        elif text[0].isdigit():
            parsed = datetime.fromisoformat(text)
        else:
            parsed = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_iso(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.sssZ` in UTC (JavaScript's `toISOString()` shape)."""
    m = moment.astimezone(UTC)
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
            f".{m.microsecond // 1000:03d}Z")


def is_rfc3339_datetime(text: str) -> bool:
    """JSON Schema `format: date-time`: a full RFC 3339 timestamp with an offset or Z."""
    if _RFC3339.fullmatch(text) is None:
        return False
    try:
        datetime.fromisoformat(text.upper())
    except ValueError:
        return False
    return True


def is_full_date(text: str) -> bool:
    """JSON Schema `format: date`: `YYYY-MM-DD` naming a real day."""
    if _DATE_ONLY.fullmatch(text) is None:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
