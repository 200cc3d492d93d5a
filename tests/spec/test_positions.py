"""The position index: every JSON path points exactly at the start of its value's text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.runtime.config import json_path as config_json_path
from engine.spec._positions import PositionIndex, parse_path
from engine.spec.jsonfile import json_path as spec_json_path

_DECODER = json.JSONDecoder()
_WHITESPACE = st.sampled_from(["", " ", "\n", "\t", "\r\n", "  \n    ", "\n\n\t "])
_KEYS = st.one_of(st.text(max_size=8),
                  st.sampled_from(["a", "b_c", "x-y", "0", "a.b", "[1]", '"q"', "é", ""]))
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
)
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=20,
)


def _string(text: str, mode: int) -> str:
    """A JSON string literal for `text`, in one of several legal spellings."""
    if mode == 0:
        return json.dumps(text, ensure_ascii=False)
    if mode == 1:
        return json.dumps(text)  # every non-ASCII character as \\uXXXX (pairs beyond the BMP)
    out = []
    for char in text:  # every character escaped; '/' as the optional \\/ escape
        if char == "/":
            out.append("\\/")
            continue
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04X}")
        else:
            out.append(f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def _render(value: Any, draw: Any) -> str:
    """Serialise `value` with drawn whitespace between every token and drawn string spellings."""
    ws = lambda: draw(_WHITESPACE)  # noqa: E731
    mode = lambda: draw(st.integers(0, 2))  # noqa: E731
    if isinstance(value, dict):
        items = [f"{ws()}{_string(k, mode())}{ws()}:{ws()}{_render(v, draw)}{ws()}" for k, v in value.items()]
        return "{" + (",".join(items) if items else ws()) + "}"
    if isinstance(value, list):
        items = [f"{ws()}{_render(v, draw)}{ws()}" for v in value]
        return "[" + (",".join(items) if items else ws()) + "]"
    if isinstance(value, str):
        return _string(value, mode())
    return json.dumps(value)


def _walk(value: Any, parts: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out = [(parts, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _walk(item, (*parts, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _walk(item, (*parts, i))
    return out


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a) == json.dumps(b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_path_points_at_its_value(data: st.DataObject) -> None:
    doc = data.draw(_DOCS)
    text = data.draw(_WHITESPACE) + _render(doc, data.draw) + data.draw(_WHITESPACE)
    assert _same(json.loads(text), doc)
    index = PositionIndex(text)
    walked = _walk(doc)
    assert sorted(map(repr, index.paths())) == sorted(repr(p) for p, _ in walked)
    for parts, value in walked:
        offset = index.offset(parts)
        assert offset is not None
        decoded, end = _DECODER.raw_decode(text, offset)
        assert _same(decoded, value)
        # Both path spellings the engine writes lead to the same place.
        for spelled in (spec_json_path(parts), config_json_path(parts)):
            assert parse_path(spelled) == parts
            where = index.locate(spelled)
            assert where is not None and where.offset == offset
            assert where.line == text.count("\n", 0, offset) + 1
            assert where.column == offset - (text.rfind("\n", 0, offset) + 1) + 1
        if parts and isinstance(parts[-1], str):
            key_at = index.offset(parts, key=True)
            assert key_at is not None and _DECODER.raw_decode(text, key_at)[0] == parts[-1]
        if isinstance(value, str):
            path = spec_json_path(parts)
            for k in range(len(value) + 1):
                where = index.locate(path, inner=k)
                assert where is not None
                assert json.loads('"' + text[offset + 1 : where.offset] + '"') == value[:k]
            assert index.locate(path, inner=len(value) + 5).offset == end - 1  # type: ignore[union-attr]


def test_line_and_column_match_json_decode_error_counting() -> None:
    text = '{\n  "a": [1,\n        {"b": "x\\u00e9y"}],\n\t"c": null\n}'
    index = PositionIndex(text)
    assert (index.locate("$.a[1].b").line, index.locate("$.a[1].b").column) == (3, 15)  # type: ignore[union-attr]
    assert index.locate("$.c").column == 7  # type: ignore[union-attr]
    assert index.locate("$.c", key=True).column == 2  # type: ignore[union-attr]
    with pytest.raises(json.JSONDecodeError) as err:
        json.loads(text.replace("null", "nul"))
    assert (err.value.lineno, err.value.colno) == (4, 7)


def test_inner_column_skips_escapes() -> None:
    text = '{"e": "a\\"b\\ud83d\\ude00c"}'
    index = PositionIndex(text)
    # decoded: a " b 😀 c → index 4 is 'c'
    where = index.locate("$.e", inner=4)
    assert where is not None and text[where.offset] == "c"


def test_missing_paths_fall_back_to_the_nearest_ancestor() -> None:
    text = '{"steps": [{"when": "payload.x"}]}'
    index = PositionIndex(text)
    assert index.locate('$.steps[0].when["@jmespath"]', inner=7).offset == text.index(".x")  # type: ignore[union-attr]
    assert index.locate("$.steps[0].nope").offset == text.index('{"when"')  # type: ignore[union-attr]
    assert index.locate("$.steps[0].nope", key=True).offset == text.index('{"when"')  # type: ignore[union-attr]
    assert index.locate("$.steps[3]").offset == text.index("[")  # type: ignore[union-attr]
    assert index.locate("not a path") is None


def test_duplicates_in_the_order_json_loads_meets_them() -> None:
    text = '{"a": 1, "b": {"x": 1, "x": 2}, "a": 2}'
    dups = PositionIndex(text).duplicates
    assert [(d.key, d.key_offset) for d in dups] == [("x", text.index('"x": 2')), ("a", text.rindex('"a"'))]


@pytest.mark.parametrize("bad", ["", "{", '{"a" 1}', "[1 2]", "tru", "{} x", '{"a": 1,}'])
def test_not_json_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        PositionIndex(bad)


@pytest.mark.parametrize(("path", "parts"), [
    ("$", ()), ("$.a.b[2]", ("a", "b", 2)), ('$["a.b"][0].c', ("a.b", 0, "c")),
    ('$.x["\\u00e9 \\"q\\""]', ("x", 'é "q"')), ("$.0", ("0",)),
])
def test_parse_path(path: str, parts: tuple[Any, ...]) -> None:
    assert parse_path(path) == parts


@pytest.mark.parametrize("path", ["a.b", "$.", "$[x]", '$["a"', "$..a", "$[1"])
def test_parse_path_refuses_garbage(path: str) -> None:
    assert parse_path(path) is None
