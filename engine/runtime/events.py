"""Segment-spec event checks and normalisation, shared by the HTTP server and `ddengine send`.

Checks follow Segment's tracking API: a known `type`, `userId` or `anonymousId`, the fields each
type needs (`event` for track, `groupId` for group, `previousId` for alias), objects where the
spec has objects. Normalisation adds `messageId` (when missing), `receivedAt`, and the batch's
`context` to events that have none.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

TYPES = ("track", "identify", "page", "screen", "group", "alias")
_OBJECTS = ("properties", "traits", "context", "integrations")
_STRINGISH = ("userId", "anonymousId", "groupId", "previousId")
MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024


class InvalidEvent(ValueError):
    """An event breaks the tracking spec; `path` names the offending field."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def normalize(raw: Any, *, kind: str | None = None, path: str = "",
              batch_context: Mapping[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Check one event and return a normalised copy (never mutates `raw`)."""
    where = path or "event"
    if not isinstance(raw, dict):
        raise InvalidEvent(where, f"must be a JSON object, not {_kind(raw)}")
    event = dict(raw)
    declared = event.get("type")
    if kind is not None:
        if declared is not None and declared != kind:
            raise InvalidEvent(_at(path, "type"), f"is {declared!r} but this endpoint takes {kind!r} events")
        event["type"] = kind
    elif declared not in TYPES:
        shown = "missing" if declared is None else repr(declared)
        raise InvalidEvent(_at(path, "type"), f"{shown}; must be one of {', '.join(TYPES)}")
    etype = event["type"]
    for key in _STRINGISH:
        value = event.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidEvent(_at(path, key), f"must be a string, not {_kind(value)}")
        event[key] = str(value) if not isinstance(value, str) else value
    for key in _OBJECTS:
        if key in event and event[key] is not None and not isinstance(event[key], dict):
            raise InvalidEvent(_at(path, key), f"must be an object, not {_kind(event[key])}")
    if not event.get("userId") and not event.get("anonymousId"):
        raise InvalidEvent(_at(path, "userId"), "userId or anonymousId is required")
    if etype == "track" and (not isinstance(event.get("event"), str) or not event["event"].strip()):
        raise InvalidEvent(_at(path, "event"), "a track call needs the event name as a non-empty string")
    if etype in ("page", "screen") and event.get("name") is not None and not isinstance(event["name"], str):
        raise InvalidEvent(_at(path, "name"), f"must be a string, not {_kind(event['name'])}")
    if etype == "group" and not event.get("groupId"):
        raise InvalidEvent(_at(path, "groupId"), "a group call needs groupId")
    if etype == "alias" and not event.get("previousId"):
        raise InvalidEvent(_at(path, "previousId"), "an alias call needs previousId")
    for key in ("messageId", "timestamp", "sentAt", "originalTimestamp"):
        if key in event and event[key] is not None and not isinstance(event[key], str):
            raise InvalidEvent(_at(path, key), f"must be a string, not {_kind(event[key])}")
    if event.get("messageId") is not None and len(event["messageId"]) > 200:
        raise InvalidEvent(_at(path, "messageId"), "is longer than 200 characters")
    if batch_context and not event.get("context"):
        event["context"] = dict(batch_context)
    if not event.get("messageId"):
        event["messageId"] = f"ddengine-{uuid.uuid4()}"
    event.setdefault("receivedAt", (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z"))
    return event


def check_size(event: Mapping[str, Any], path: str = "") -> None:
    """Segment's 32 KB per-event limit, measured on the compact JSON encoding."""
    size = len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        raise InvalidEvent(path or "event", f"is {size} bytes; the limit is 32 KB ({MAX_EVENT_BYTES} bytes) "
                           "per event")


def from_document(doc: Any, *, path: str = "") -> Iterator[dict[str, Any]]:
    """Events of one parsed document: a single event, a list of events, or a Segment batch."""
    if isinstance(doc, dict) and "batch" in doc:
        batch = doc["batch"]
        if not isinstance(batch, list):
            raise InvalidEvent(_at(path, "batch"), f"must be a list, not {_kind(batch)}")
        context = doc.get("context") if isinstance(doc.get("context"), dict) else None
        for i, item in enumerate(batch):
            yield normalize(item, path=f"{_at(path, 'batch')}[{i}]", batch_context=context)
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            yield normalize(item, path=f"{path}[{i}]")
    else:
        yield normalize(doc, path=path)


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)
