"""The engine's JMESPath functions, good and bad input, through compiled expressions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.errors import PayloadValidationError
from engine.values import compile_jmespath


def call(expr: str, data: Any = None, field: str = "f") -> Any:
    return compile_jmespath(expr).search({} if data is None else data, field=field)


def refused(expr: str, data: Any = None, field: str = "f") -> PayloadValidationError:
    with pytest.raises(PayloadValidationError) as info:
        call(expr, data, field)
    return info.value


@pytest.mark.parametrize(("value", "digits"), [
    ("+1-234-567-8900", "12345678900"), ("abc", ""), (447700900001, "447700900001"), ("٣٤٥123", "123"),
])
def test_digits(value: Any, digits: str) -> None:
    assert call("digits(v)", {"v": value}) == digits


@pytest.mark.parametrize(("value", "cleaned"), [
    ("+1-234-567-8900", "12345678900"), ("123-456-7890 ext. 123", "1234567890123"),
    ("0044 7700 900001", "00447700900001"), (447700900001, "447700900001"),
])
def test_phone(value: Any, cleaned: str) -> None:
    assert call("phone(v)", {"v": value}) == cleaned


@pytest.mark.parametrize("value", ["1-800-GET-HELP", "123", "", "٣٤٥٦٧٨٩٠"])
def test_phone_refuses_short_numbers(value: str) -> None:
    error = refused("phone(v)", {"v": value}, field="to")
    assert error.problems[0].field == "to"
    assert error.problems[0].message == "Invalid mobile number value"


def test_null_passes_through() -> None:
    for name in ("digits", "phone", "email", "lower", "upper", "trim", "iso8601"):
        assert call(f"{name}(missing)") is None


@pytest.mark.parametrize(("value", "result"), [
    ("  ann@example.com ", "ann@example.com"), ("Ann Lee <ann@example.com>", "Ann Lee <ann@example.com>"),
    ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"), ("A=B@x.io", "A=B@x.io"),
    ("Ann@Example.COM", "Ann@Example.COM"),
])
def test_email_accepts(value: str, result: str) -> None:
    assert call("email(v)", {"v": value}) == result


@pytest.mark.parametrize("value", [
    "ann", "ann@", "@x.com", "ann@x", "ann@x.c", "a..b@x.com", ".a@x.com", "a b@x.com", "ann@-x.com",
    "Ann <ann@x>", "ann@x.com>", "a,b@x.com", "a:b@x.com", "",
])
def test_email_refuses(value: str) -> None:
    # "a,b@x.com" and "a:b@x.com" pass the reference's accidental +…= character range; not ours.
    error = refused("email(v)", {"v": value}, field="fromAddress")
    assert error.problems[0].field == "fromAddress"
    assert "invalid email address" in error.problems[0].message


def test_emails_splits_trims_and_drops_empties() -> None:
    assert call("emails(v)", {"v": "a@x.com, b@y.org ,,c@z.net,"}) == ["a@x.com", "b@y.org", "c@z.net"]
    assert call("emails(v)", {"v": ["a@x.com", "b@y.org, c@z.net"]}) == ["a@x.com", "b@y.org", "c@z.net"]
    assert call("emails(v)", {"v": ""}) == []
    assert call("emails(missing)") == []


def test_emails_names_the_bad_one() -> None:
    error = refused("emails(v)", {"v": "a@x.com, nope, c@z.net"}, field="cc")
    assert error.problems[0].field == "cc"
    assert "'nope'" in error.problems[0].message


def test_case_and_trim() -> None:
    assert call("lower(v)", {"v": "ÀbC"}) == "àbc"
    assert call("upper(v)", {"v": "abc"}) == "ABC"
    assert call("trim(v)", {"v": "  a b \n"}) == "a b"


@pytest.mark.parametrize(("value", "iso"), [
    ("2024-01-05", "2024-01-05T00:00:00.000Z"),
    ("2024-01-05T10:20:30", "2024-01-05T10:20:30.000Z"),
    ("2024-01-05T10:20:30.5+02:00", "2024-01-05T08:20:30.500Z"),
    ("2024-01-05T10:20:30.123456Z", "2024-01-05T10:20:30.123Z"),
    ("2024-01-05 10:20", "2024-01-05T10:20:00.000Z"),
])
def test_iso8601(value: str, iso: str) -> None:
    assert call("iso8601(v)", {"v": value}) == iso


@pytest.mark.parametrize("value", ["yesterday", "2024-02-30", "2024-01-05T25:00", "5"])
def test_iso8601_refuses(value: str) -> None:
    assert "invalid date" in refused("iso8601(v)", {"v": value}).problems[0].message


def test_coalesce_if_default_require() -> None:
    data = {"a": None, "b": "", "c": 0, "d": "x"}
    assert call("coalesce(a, b, d)", data) == ""
    assert call("coalesce(a, missing)", data) is None
    assert call("if(c, 'yes', 'no')", data) == "yes"  # 0 is truthy in JMESPath
    assert call("if(b, 'yes', 'no')", data) == "no"
    assert call("default(b, 'fallback')", data) == "fallback"
    assert call("default(c, 'fallback')", data) == 0
    assert call("require(d, 'd is needed')", data) == "x"
    error = refused("require(b, 'Invalid channel identifier')", data, field="channel")
    assert error.problems[0].message == "Invalid channel identifier"


def test_split_join_and_builtins() -> None:
    assert call("split(v, ';')", {"v": "a;b;;c"}) == ["a", "b", "", "c"]
    assert call("join(',', split(v, ';'))", {"v": "a;b"}) == "a,b"
    assert call("to_number(v)", {"v": "42"}) == 42
    assert call("to_string(v)", {"v": 42}) == "42"
    assert call("split(missing, ',')") is None
    refused("split(v, '')", {"v": "a"})


def test_now_is_iso() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", call("now()"))


DEFINITIONS = [
    {"name": "FIRSTNAME", "type": "String"}, {"name": "AGE", "type": "Numeric"},
    {"name": "BIRTHDAY", "type": "Date"}, {"name": "VIP", "type": "boolean"},
]


def test_coerce_fields_converts() -> None:
    values = {"FIRSTNAME": " Ann ", "AGE": "42", "BIRTHDAY": "1990-05-01", "VIP": "yes"}
    assert call("coerce_fields(v, d)", {"v": values, "d": DEFINITIONS}) == {
        "FIRSTNAME": "Ann", "AGE": 42, "BIRTHDAY": "1990-05-01T00:00:00.000Z", "VIP": True}
    assert call("coerce_fields(v, d)", {"v": {"AGE": "1.5", "VIP": "0"}, "d": DEFINITIONS}) == {
        "AGE": 1.5, "VIP": False}
    by_name = {"AGE": "numeric", "VIP": "BOOLEAN"}
    values = {"AGE": 7, "VIP": False}
    assert call("coerce_fields(v, d)", {"v": values, "d": by_name}) == values


def test_coerce_fields_null_values_pass() -> None:
    assert call("coerce_fields(v, d)", {"v": {"AGE": None}, "d": DEFINITIONS}) == {"AGE": None}
    assert call("coerce_fields(missing, d)", {"d": DEFINITIONS}) is None


@pytest.mark.parametrize(("values", "field", "needle"), [
    ({"NICKNAME": "x"}, "dataFields.NICKNAME", "Data field NICKNAME not found"),
    ({"firstname": "x"}, "dataFields.firstname", "not found"),
    ({"FIRSTNAME": 5}, "dataFields.FIRSTNAME", "String"),
    ({"AGE": "1,000"}, "dataFields.AGE", "Numeric"),
    ({"AGE": "abc"}, "dataFields.AGE", "Numeric"),
    ({"AGE": True}, "dataFields.AGE", "Numeric"),
    ({"BIRTHDAY": "someday"}, "dataFields.BIRTHDAY", "BIRTHDAY"),
    ({"BIRTHDAY": 19900501}, "dataFields.BIRTHDAY", "Date"),
    ({"VIP": "maybe"}, "dataFields.VIP", "Boolean"),
    ({"VIP": 1}, "dataFields.VIP", "Boolean"),
])
def test_coerce_fields_refuses(values: dict[str, Any], field: str, needle: str) -> None:
    error = refused("coerce_fields(v, d)", {"v": values, "d": DEFINITIONS}, field="dataFields")
    assert error.problems[0].field == field
    assert needle in error.problems[0].message


def test_coerce_fields_reports_every_bad_key() -> None:
    error = refused("coerce_fields(v, d)", {"v": {"AGE": "x", "VIP": "x", "FIRSTNAME": "ok", "Z": 1},
                                            "d": DEFINITIONS}, field="dataFields")
    assert sorted(error.fields) == ["dataFields.AGE", "dataFields.VIP", "dataFields.Z"]


def test_jmespath_type_errors_become_payload_problems() -> None:
    error = refused("lower(v)", {"v": 5}, field="name")
    assert error.problems[0].field == "name"
    assert "lower()" in error.problems[0].message
