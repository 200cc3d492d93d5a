"""The engine's JMESPath function library, active in every expression the engine compiles.

Functions that reject their input raise `FunctionError`; the expression runner turns it into a
`PayloadValidationError` whose `Problem.field` is the field being evaluated (plus a sub-key for
functions such as `coerce_fields` that check many values at once). Most functions pass `null`
through unchanged, so a missing input is reported once, by the schema's `required`, instead of
twice. See docs/functions.md for every function with examples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from jmespath import functions as _jf

from engine.values._checks import format_iso, is_email, json_type, parse_datetime


class FunctionError(Exception):
    """A function refused its input; `problems` are (sub-path, message) pairs."""

    def __init__(self, message: str, *, problems: list[tuple[str, str]] | None = None) -> None:
        self.problems: list[tuple[str, str]] = problems or [("", message)]
        super().__init__(message)


_NON_DIGITS = re.compile(r"\D+", re.ASCII)
_NUMERIC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_TRUE_WORDS = frozenset({"true", "yes", "1"})
_FALSE_WORDS = frozenset({"false", "no", "0"})
_DATA_FIELD_TYPES = ("string", "numeric", "date", "boolean")


def is_blank(value: Any) -> bool:
    """Missing for `require()`/`default()`: null or the empty string."""
    return value is None or (value == "" and isinstance(value, str))


def is_falsy(value: Any) -> bool:
    """JMESPath truthiness: null, false, "", [] and {} are false; 0 is true."""
    if value is None or value is False:
        return True
    return isinstance(value, str | list | dict) and not value


def parse_number(text: str) -> int | float | None:
    """A decimal numeral (optional sign, fraction, exponent) as int or float; None otherwise.

    Rejects what would silently change meaning: thousands separators, hex, `Infinity`, `NaN`,
    blanks. An integral numeral without fraction or exponent becomes an `int`.
    """
    text = text.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMERIC.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else None
    return None


def parse_boolean(value: Any) -> bool | None:
    """A boolean from a bool or the words true/false/yes/no/1/0 (any case, trimmed)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def clean_email(value: str) -> str:
    """Trim and validate one address (`a@b.com` or `Name <a@b.com>`); raise FunctionError."""
    text = value.strip()
    if not is_email(text):
        raise FunctionError(f"invalid email address {text!r}")
    return text


def _string_pieces(value: Any) -> Iterable[str]:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is None:
            continue
        if not isinstance(item, str):
            raise FunctionError(f"expected e-mail addresses as strings, got {json_type(item)}")
        yield from item.split(",")


def iso8601(value: str) -> str:
    """Normalise a date or date-time string to `YYYY-MM-DDTHH:MM:SS.sssZ`; raise FunctionError."""
    moment = parse_datetime(value)
    if moment is None:
        raise FunctionError(f"invalid date value {value!r} (expected an ISO 8601 date or date-time)")
    return format_iso(moment)


def _coerce_data_field(key: str, kind: str, value: Any) -> Any:
    if value is None:
        return None  # null clears a data field; let it through
    if kind == "string":
        if not isinstance(value, str):
            raise FunctionError(f"data field {key} is a String, got {json_type(value)}")
        return value.strip()
    if kind == "numeric":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        number = parse_number(value) if isinstance(value, str) else None
        if number is None:
            raise FunctionError(f"data field {key} is Numeric, got {json_type(value)} {value!r}")
        return number
    if kind == "date":
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise FunctionError(f"data field {key} is a Date, got {json_type(value)} {value!r}")
        return format_iso(moment)
    if kind == "boolean":
        flag = parse_boolean(value)
        if flag is None:
            raise FunctionError(f"data field {key} is Boolean, got {json_type(value)} {value!r}")
        return flag
    return value


def _definition_types(definitions: Any) -> dict[str, str]:
    """Accept `[{name, type}, …]` (as the API lists them) or `{name: type}`."""
    if isinstance(definitions, dict):
        pairs = list(definitions.items())
    else:
        pairs = []
        for item in definitions:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise FunctionError("coerce_fields() definitions must be objects with a name and a type")
            pairs.append((item["name"], item.get("type")))
    return {name: str(kind).lower() if kind is not None else "" for name, kind in pairs}


class EngineFunctions(_jf.Functions):
    """JMESPath builtins plus the engine's own functions (docs/functions.md)."""

    @_jf.signature({"types": ["string", "number", "null"]})
    def _func_digits(self, value: Any) -> str | None:
        if value is None:
            return None
        return _NON_DIGITS.sub("", value if isinstance(value, str) else _number_text(value))

    @_jf.signature({"types": ["string", "number", "null"]})
    def _func_phone(self, value: Any) -> str | None:
        if value is None:
            return None
        digits = _NON_DIGITS.sub("", value if isinstance(value, str) else _number_text(value))
        if len(digits) < 7:
            raise FunctionError("Invalid mobile number value")
        return digits

    @_jf.signature({"types": ["string", "null"]})
    def _func_email(self, value: str | None) -> str | None:
        return None if value is None else clean_email(value)

    @_jf.signature({"types": ["string", "array", "null"]})
    def _func_emails(self, value: Any) -> list[str]:
        out: list[str] = []
        for piece in _string_pieces(value):
            text = piece.strip()
            if text:
                out.append(clean_email(text))
        return out

    @_jf.signature({"types": ["string", "null"]})
    def _func_lower(self, value: str | None) -> str | None:
        return None if value is None else value.lower()

    @_jf.signature({"types": ["string", "null"]})
    def _func_upper(self, value: str | None) -> str | None:
        return None if value is None else value.upper()

    @_jf.signature({"types": ["string", "null"]})
    def _func_trim(self, value: str | None) -> str | None:
        return None if value is None else value.strip()

    @_jf.signature({"types": ["string", "null"]})
    def _func_iso8601(self, value: str | None) -> str | None:
        return None if value is None else iso8601(value)

    @_jf.signature({"types": [], "variadic": True})
    def _func_coalesce(self, *values: Any) -> Any:
        return next((v for v in values if v is not None), None)

    @_jf.signature({"types": []}, {"types": []}, {"types": []})
    def _func_if(self, condition: Any, then: Any, otherwise: Any) -> Any:
        return otherwise if is_falsy(condition) else then

    @_jf.signature({"types": []}, {"types": ["string"]})
    def _func_require(self, value: Any, message: str) -> Any:
        if is_blank(value):
            raise FunctionError(message)
        return value

    @_jf.signature({"types": []}, {"types": []})
    def _func_default(self, value: Any, fallback: Any) -> Any:
        return fallback if is_blank(value) else value

    @_jf.signature({"types": ["object", "null"]}, {"types": ["array", "object"]})
    def _func_coerce_fields(self, values: dict[str, Any] | None, definitions: Any) -> dict[str, Any] | None:
        if values is None:
            return None
        types = _definition_types(definitions)
        out: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for key, value in values.items():
            kind = types.get(key)
            if kind is None:
                problems.append((key, f"Data field {key} not found"))
                continue
            try:
                out[key] = _coerce_data_field(key, kind, value)
            except FunctionError as exc:
                problems.append((key, str(exc)))
        if problems:
            raise FunctionError(problems[0][1], problems=problems)
        return out

    @_jf.signature({"types": ["string", "null"]}, {"types": ["string"]})
    def _func_split(self, value: str | None, separator: str) -> list[str] | None:
        if value is None:
            return None
        if separator == "":
            raise FunctionError("split() needs a non-empty separator")
        return value.split(separator)

    @_jf.signature()
    def _func_now(self) -> str:
        return format_iso(datetime.now(UTC))


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


#: The single instance every compiled expression uses.
ENGINE_FUNCTIONS = EngineFunctions()


def function_arity(name: str) -> tuple[int, bool] | None:
    """(number of parameters, variadic) for a known function, None for an unknown one."""
    spec = ENGINE_FUNCTIONS.FUNCTION_TABLE.get(name)
    if spec is None:
        return None
    signature = spec["signature"]
    variadic = bool(signature) and bool(signature[-1].get("variadic"))
    return len(signature), variadic


def function_names() -> list[str]:
    """Every function name usable in an expression (builtins and the engine's own)."""
    return sorted(ENGINE_FUNCTIONS.FUNCTION_TABLE)


__all__ = ["ENGINE_FUNCTIONS", "EngineFunctions", "FunctionError", "function_arity", "function_names"]
