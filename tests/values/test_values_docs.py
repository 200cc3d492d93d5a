"""The examples in docs/functions.md are true: each table row is run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from engine.errors import PayloadValidationError
from engine.values import compile_jmespath, function_names

DOC = Path(__file__).resolve().parents[2] / "docs" / "functions.md"
ROW = re.compile(r"^\| `(\{.*\})` \| `(.+)` \| (.+) \|$")


def examples() -> list[tuple[str, str, str]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows.append((match[1], match[2], match[3].strip()))
    return rows


@pytest.mark.parametrize(("data", "expr", "result"), examples())
def test_documented_example(data: str, expr: str, result: str) -> None:
    compiled = compile_jmespath(expr.replace("\\|", "|"))
    context: Any = json.loads(data)
    if result.startswith("error"):
        with pytest.raises(PayloadValidationError):
            compiled.search(context)
        return
    assert compiled.search(context) == json.loads(result.strip("`"))


def test_enough_examples_and_every_engine_function_documented() -> None:
    assert len(examples()) >= 20
    text = DOC.read_text(encoding="utf-8")
    for name in function_names():
        assert f"`{name}" in text, name
