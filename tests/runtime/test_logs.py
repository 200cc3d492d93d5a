"""Structured logs: one JSON object per line, secrets masked whatever field they hide in."""

from __future__ import annotations

import io
import json
import logging

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.runtime import logs
from engine.runtime.logs import MASK, Masker


def test_json_lines_with_fields_and_masking() -> None:
    stream = io.StringIO()
    logs.configure("DEBUG", stream)
    logs.masker().add(["hunter2-secret"])
    log = logging.getLogger("engine.test")
    logs.event(log, logging.INFO, "sending", url="http://x/y?p=hunter2-secret",
               headers={"Authorization": "Basic abc", "Accept": "json"}, password="whatever")
    line = json.loads(stream.getvalue().strip())
    assert line["msg"] == "sending" and line["level"] == "info" and line["logger"] == "engine.test"
    assert line["url"] == f"http://x/y?p={MASK}"
    assert line["headers"] == {"Authorization": MASK, "Accept": "json"}
    assert line["password"] == MASK
    assert "hunter2-secret" not in stream.getvalue()


@settings(max_examples=100, deadline=None)
@given(secret=st.text(min_size=3, max_size=20).filter(lambda s: "*" not in s),
       before=st.text(max_size=10), after=st.text(max_size=10))
def test_masker_removes_secret_anywhere(secret: str, before: str, after: str) -> None:
    masker = Masker([secret])
    out = masker({"a": [f"{before}{secret}{after}"], "b": {"c": secret}})
    assert secret not in out["a"][0] and out["b"]["c"] == MASK
