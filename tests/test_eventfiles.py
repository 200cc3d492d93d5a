"""The event-file reader shared by `trigger eval` and `send`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.cli.cmd_trigger import read_events
from engine.eventfiles import EventFileError, documents, read_source

_objects = st.dictionaries(st.text(min_size=1, max_size=5),
                           st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none()),
                           max_size=4)


@given(st.lists(_objects, min_size=2, max_size=6))
def test_json_lines_and_one_array_give_the_same_events(items: list[dict[str, object]]) -> None:
    as_lines = "\n".join(json.dumps(i) for i in items)
    as_array = json.dumps(items)
    assert list(read_events(as_lines)) == list(read_events(as_array)) == items


def test_a_bad_line_is_recorded_and_the_rest_still_read() -> None:
    problems: list[str] = []
    text = '{"a": 1}\n{oops}\n// a comment\n\n{"b": 2}\n'
    docs = list(documents(text, "f.jsonl", problems=problems))
    assert [d.value for d in docs] == [{"a": 1}, {"b": 2}]
    assert [d.label for d in docs] == ["f.jsonl:1", "f.jsonl:5"]
    assert problems == ["f.jsonl: line 2, column 2: invalid JSON: "
                        "Expecting property name enclosed in double quotes"]


def test_without_a_problem_list_a_bad_line_raises_with_its_position() -> None:
    with pytest.raises(EventFileError, match=r"f: line 2, column 2: invalid JSON"):
        list(documents('{"a": 1}\n{oops}\n', "f"))


def test_trigger_eval_reads_segment_batches() -> None:
    batch = {"batch": [{"type": "track", "event": "A"}, {"type": "identify"}], "context": {}}
    assert [e["type"] for e in read_events(json.dumps(batch))] == ["track", "identify"]


def test_read_source_names_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(EventFileError, match=r"cannot read .*missing\.json"):
        read_source(str(tmp_path / "missing.json"))
    assert read_source("-", io.StringIO('{"a": 1}')) == ("<stdin>", '{"a": 1}')
