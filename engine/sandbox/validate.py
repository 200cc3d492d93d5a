"""Small input checks shared by the handlers: v2 key folding, int coercion, email/phone syntax."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

_INT_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")
_EMAIL = re.compile(r"^[^@\s<>]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_NAMED_EMAIL = re.compile(r"^\s*[^<>]*<\s*([^<>\s]+)\s*>\s*$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().-]+$")
_DIGITS = re.compile(r"\D", re.ASCII)


class Invalid(ValueError):
    """A field failed a check; `field` names it for the family-specific error body."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def fold_keys(body: Mapping[str, Any]) -> dict[str, Any]:
    """v2 binds JSON property names case-insensitively (.NET): fold keys to lower case."""
    return {str(k).lower(): v for k, v in body.items()}


def as_int(value: Any, field: str, *, required: bool = True) -> int | None:
    """A v2 integer: ints, integral floats and numeric strings ("2001") are accepted."""
    if value is None:
        if required:
            raise Invalid(field, f"{field} is required")
        return None
    if isinstance(value, bool):
        raise Invalid(field, f"{field} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.match(value):
        return int(value)
    raise Invalid(field, f"{field} must be an integer")


def as_int_list(value: Any, field: str) -> list[int]:
    """A v2 integer array; a missing value is an empty list."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(field, f"{field} must be an array of integers")
    return [as_int(v, field) for v in value]  # type: ignore[misc]


def is_email(text: Any) -> bool:
    """Syntax check close to what the real API accepts (one @, dotted domain, 2+ letter TLD)."""
    return isinstance(text, str) and len(text) <= 254 and _EMAIL.match(text) is not None


def sender_address(text: str) -> str | None:
    """The address inside `addr` or `Display Name <addr>`, or None when malformed."""
    m = _NAMED_EMAIL.match(text)
    addr = m.group(1) if m else text.strip()
    return addr if is_email(addr) else None


def phone_key(text: Any) -> str | None:
    """Normalised mobile number (digits only, E.164 without '+'), or None when malformed."""
    if not isinstance(text, str) or not _PHONE_CHARS.match(text):
        return None
    digits = _DIGITS.sub("", text)
    return digits if 7 <= len(digits) <= 15 else None


def parse_datetime(text: Any) -> datetime | None:
    """An ISO-8601 date or date-time (with or without offset / 'Z'), else None."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def finite_number(value: Any) -> float | int | None:
    """A JSON number or numeric string as a finite number, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.match(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None
