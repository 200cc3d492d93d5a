"""Path encoding, retry-after parsing and the cache: small laws checked with hypothesis."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.execute.cache import MemoryCache
from engine.execute.render import encode_segment
from engine.execute.response import retry_after


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a+b@x.com", "a%2Bb@x.com"),
        ("a/b", "a%2Fb"),
        ("a b?c#d", "a%20b%3Fc%23d"),
        ("plain-text_1.0~", "plain-text_1.0~"),
        (1001, "1001"),
        (1001.0, "1001"),
        (True, "true"),
        ("", ""),
    ],
)
def test_segment_examples(raw: object, encoded: str) -> None:
    assert encode_segment(raw, index=0) == encoded


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_segment_round_trips_and_never_splits(text: str) -> None:
    encoded = encode_segment(text, index=0)
    assert unquote(encoded, errors="strict") == text
    assert "/" not in encoded and "?" not in encoded and "#" not in encoded
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-@%")


def test_retry_after_forms() -> None:
    assert retry_after({"retry-after": "12"}) == 12.0
    assert retry_after({"x-ratelimit-reset": "30"}) == 30.0
    assert retry_after({"x-ratelimit-reset": "1700000100"}, now=1_700_000_000) == 100.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0) == 10.0
    assert retry_after({}) is None


def test_memory_cache_ttl_and_bound() -> None:
    now = [0.0]
    cache = MemoryCache(max_entries=2, clock=lambda: now[0])
    cache.set("a", 1, ttl=10)
    cache.set("b", 2, ttl=10)
    assert cache.get("a") == 1
    cache.set("c", 3, ttl=10)  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("a") == 1
    now[0] = 11
    assert cache.get("a") is None
    cache.delete("c")
    assert cache.get("c") is None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(obj=_json, secret=st.text(min_size=4, max_size=12).filter(lambda s: "*" not in s))
def test_masked_output_never_contains_the_secret(obj: object, secret: str) -> None:
    import json

    from engine.execute.secrets import mask

    planted = {"x": obj, "y": [f"a{secret}b", secret], secret: 1}
    masked = mask(planted, (secret,))
    assert not any(secret in text for text in _strings(masked))
    assert masked["y"] == ["a***b", "***"]
    json.dumps(masked)  # still JSON


def _strings(obj: object) -> list[str]:
    """Every string (keys included) inside a JSON-like object."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


@settings(max_examples=100, deadline=None)
@given(obj=_json)
def test_masking_without_secrets_is_identity(obj: object) -> None:
    from engine.execute.secrets import mask

    assert mask(obj, ("zz-not-present-zz",)) == obj
