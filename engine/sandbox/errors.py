"""Error bodies of the three Dotdigital API families.

The real API answers in three different shapes: the v2 (.NET Web API) family uses
`{"message": "... ERROR_CODE"}`, the v3 contacts service uses `{"errorCode", "description",
"details"?}` and the CPaaS (omnichannel) service uses `{"message", "validationFailures"?}`.
Handlers raise `ApiError` with a body built by one of the helpers below; the app turns it into
the response, so every error of a family looks the same.
"""

from __future__ import annotations

from typing import Any, Literal

Family = Literal["v2", "v3", "cpaas"]

AUTH_DENIED = "Authorization has been denied for this request."


class ApiError(Exception):
    """An HTTP error answer with a family-specific JSON body (and optional extra headers)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def v2_error(status: int, message: str, headers: dict[str, str] | None = None) -> ApiError:
    """A v2 error: `{"message": ...}`, where the message usually ends in an ERROR_* code."""
    return ApiError(status, {"message": message}, headers)


def v3_error(
    status: int,
    code: str,
    description: str,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    """A v3 contacts error: `{"errorCode", "description", "details"?}`."""
    body: dict[str, Any] = {"errorCode": code, "description": description}
    if details:
        body["details"] = details
    return ApiError(status, body, headers)


def cpaas_error(
    status: int,
    message: str,
    failures: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    """A CPaaS error: `{"message", "validationFailures"?: [{"property", "message"}]}`."""
    body: dict[str, Any] = {"message": message}
    if failures is not None:
        body["validationFailures"] = failures
    return ApiError(status, body, headers)


def generic_error(family: Family, status: int, code: str, text: str) -> ApiError:
    """An error that every family can raise (auth, rate limit, injected fault, bad JSON).

    `code` is the v2 ERROR_* code, reused (as a camelCase suffix) for the v3 error code.
    """
    if family == "v3":
        return v3_error(status, "contacts:" + _camel(code), text)
    if family == "cpaas":
        return cpaas_error(status, text)
    return v2_error(status, f"{text} {code}" if code else text)


def unauthorized(family: Family) -> ApiError:
    """The 401 answer; v2's body is the documented one, v3/CPaaS reuse its text."""
    if family == "v3":
        return v3_error(401, "contacts:unauthorized", AUTH_DENIED)
    return ApiError(401, {"message": AUTH_DENIED})


def _camel(code: str) -> str:
    """ERROR_RATE_LIMIT_EXCEEDED -> rateLimitExceeded."""
    words = [w for w in code.lower().split("_") if w and w != "error"]
    if not words:
        return "error"
    return words[0] + "".join(w.capitalize() for w in words[1:])
