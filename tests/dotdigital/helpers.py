"""Small readers over the sandbox state and request log used by the end-to-end tests."""

from __future__ import annotations

from typing import Any


def contact(state: dict[str, Any], email: str | None = None,
            mobile: str | None = None) -> dict[str, Any] | None:
    """The contact with that email address (or mobile number) in a sandbox state snapshot."""
    for item in state["contacts"]:
        ids = item.get("identifiers") or {}
        if email is not None and ids.get("email") == email:
            return item
        if mobile is not None and ids.get("mobileNumber") == mobile:
            return item
    return None


def list_ids(item: dict[str, Any] | None) -> set[int]:
    return {entry["id"] for entry in (item or {}).get("lists", [])}


def api_calls(sb: Any, since: int = 0) -> list[dict[str, Any]]:
    """Requests the sandbox received (its own /_sandbox endpoints excluded), from index `since`."""
    return [r for r in sb.requests[since:] if not str(r["path"]).startswith("/_sandbox")]
