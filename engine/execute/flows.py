"""The I/O-free logic of running an action, listing choices and testing authentication.

Each flow is a generator that yields ``(step_name, RenderedRequest)`` and receives a `Response`;
`engine.execute.destination` drives it with a sync or an async transport, so both APIs share one
implementation of steps, caching, classification and tracing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from engine.errors import (
    AuthenticationError,
    DestinationError,
    EngineError,
    MappingError,
    PayloadValidationError,
    Problem,
)
from engine.execute.cache import Cache
from engine.execute.render import Pending, RenderedRequest, render_request
from engine.execute.response import Response, api_message, build_error, default_kind, find_rule
from engine.execute.result import ActionResult, PlannedRequest, SentRequest
from engine.execute.secrets import mask
from engine.spec.model import Action, DestinationSpec, DynamicSpec, StepSpec

Flow = Generator[tuple[str, RenderedRequest], Response, Any]


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, "", [] and {} are false; 0 is true."""
    return not (value is None or value is False or value == "" or value == [] or value == {})


@dataclass(slots=True)
class Instance:
    """What one set of settings resolves to: base URL, headers (with auth), secrets, pool key."""

    base_url: str
    headers: dict[str, str]
    secrets: tuple[str, ...]
    client_key: str
    fingerprint: str
    settings: dict[str, Any]


@dataclass(slots=True)
class Prepared:
    """An action run up to its first request: payload mapped and checked, vars set, asserts passed."""

    action: Action
    payload: dict[str, Any]
    event: Any
    vars: dict[str, Any]
    trace: list[dict[str, Any]]
    sent: list[SentRequest] = field(default_factory=list)


class _Restart(Exception):
    """A step got a 404 after cached lookups: drop them and run again without the cache."""


def locate(
    exc: EngineError, *, action: str, step: str | None = None, requests: list[SentRequest] | None = None
) -> EngineError:
    """Fill in where an error happened (if the raiser did not know) and which requests went out."""
    if hasattr(exc, "action") and getattr(exc, "action", None) is None:
        setattr(exc, "action", action)  # noqa: B010 - only action errors have these attributes
        if step and getattr(exc, "step", None) is None:
            setattr(exc, "step", step)  # noqa: B010
        render = getattr(exc, "_render", None)
        if render is not None:
            exc.args = (render(),)
    if requests is not None and hasattr(exc, "requests"):
        setattr(exc, "requests", list(requests))  # noqa: B010
    return exc


def evaluate(
    value: Any, context: dict[str, Any], *, action: str, step: str | None, sent: list[SentRequest]
) -> Any:
    """Evaluate a compiled value; unexpected failures become MappingError at the action/step."""
    try:
        return value.evaluate(context)
    except EngineError as exc:
        raise locate(exc, action=action, step=step, requests=sent) from None
    except Exception as exc:
        raise MappingError(
            f"evaluation failed: {exc}", action=action, step=step, requests=list(sent)
        ) from None


def prepare(
    action: Action, payload: dict[str, Any], event: Any, inst: Instance, trace: list[dict[str, Any]]
) -> Prepared:
    """Evaluate vars (in dependency order) and the validate assertions."""
    prep = Prepared(action=action, payload=payload, event=event, vars={}, trace=trace)
    ctx = {"payload": payload, "settings": inst.settings, "vars": prep.vars, "steps": {}, "event": event}
    for name, value in action.vars:
        prep.vars[name] = evaluate(value, ctx, action=action.key, step=None, sent=prep.sent)
        trace.append({"kind": "var", "name": name, "value": prep.vars[name]})
    problems = []
    for rule in action.validate:
        ok = truthy(evaluate(rule.expr, ctx, action=action.key, step=None, sent=prep.sent))
        trace.append({"kind": "validate", "assert": rule.text, "ok": ok})
        if not ok:
            problems.append(Problem(rule.field, rule.message))
    if problems:
        raise PayloadValidationError("", problems=problems, action=action.key)
    return prep


def cache_key(dest: DestinationSpec, req: RenderedRequest, inst: Instance) -> str:
    material = json.dumps(
        [dest.slug, req.cache_key_material(), inst.fingerprint], default=str, sort_keys=True
    )
    return "ddengine:step:" + hashlib.sha256(material.encode()).hexdigest()


def _request_view(req: RenderedRequest) -> dict[str, Any]:
    view: dict[str, Any] = {"method": req.method, "url": req.url}
    if req.query:
        view["query"] = req.query
    if req.has_json:
        view["json"] = req.json
    return view


def _fail(
    dest: DestinationSpec,
    step: StepSpec,
    resp: Response,
    ctx: dict[str, Any],
    kind: str,
    rule_message: Any,
    *,
    action: str,
    sent: list[SentRequest],
) -> DestinationError:
    message = resp.failure or api_message(resp, dest.error_message)
    api_msg = None if resp.failure else message
    if rule_message is not None:
        custom = evaluate(
            rule_message, {**ctx, "response": resp.as_step()}, action=action, step=step.name, sent=sent
        )
        if custom not in (None, ""):
            message = str(custom)
    if not message:
        message = f"request failed with HTTP {resp.status}"
    return build_error(
        kind,
        message,
        resp,
        action=action,
        step=step.name,
        status=resp.status or None,
        api_message=api_msg,
        requests=list(sent),
    )


def action_flow(dest: DestinationSpec, prep: Prepared, inst: Instance, cache: Cache | None) -> Flow:
    """Run the steps; on a 404 after cache hits, invalidate them and run once more without cache."""
    for attempt in (0, 1):
        try:
            result = yield from _attempt(dest, prep, inst, cache, use_cache=attempt == 0)
            return result
        except _Restart:
            prep.trace.append(
                {
                    "kind": "retry",
                    "why": "a step got 404 after cached lookups; "
                    "cache entries dropped, running again without cache",
                }
            )
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(
    dest: DestinationSpec, prep: Prepared, inst: Instance, cache: Cache | None, *, use_cache: bool
) -> Flow:
    action, trace, sent = prep.action, prep.trace, prep.sent
    steps: dict[str, Any] = {}
    ctx = {
        "payload": prep.payload,
        "settings": inst.settings,
        "vars": prep.vars,
        "steps": steps,
        "event": prep.event,
    }
    used_keys: list[str] = []
    for step in action.steps:
        if step.when is not None and not truthy(
            evaluate(step.when, ctx, action=action.key, step=step.name, sent=sent)
        ):
            steps[step.name] = None
            trace.append({"kind": "step", "step": step.name, "skipped": f"when `{step.when_text}` is false"})
            continue
        try:
            req = render_request(step.request, ctx, base_url=inst.base_url, base_headers=inst.headers)
        except EngineError as exc:
            raise locate(exc, action=action.key, step=step.name, requests=sent) from None
        entry: dict[str, Any] = {"kind": "step", "step": step.name, "request": _request_view(req)}
        trace.append(entry)
        key = None
        if step.cache_ttl is not None and cache is not None:
            key = cache_key(dest, req, inst)
            hit = cache.get(key) if use_cache else None
            if hit is not None:
                used_keys.append(key)
                steps[step.name] = hit
                entry["cache"] = "hit"
                entry["response"] = {"status": hit.get("status")}
                continue
            entry["cache"] = "miss" if use_cache else "bypassed"
        resp = yield step.name, req
        sent.append(
            SentRequest(
                method=req.method,
                url=req.url,
                json=req.json if req.has_json else None,
                status=resp.status or None,
                step=step.name,
            )
        )
        entry["response"] = {"status": resp.status} if not resp.failure else {"failure": resp.failure}
        if resp.status == 404 and used_keys and use_cache:
            assert cache is not None
            for used in used_keys:
                cache.delete(used)
            entry["classified"] = "404 after cached lookups: invalidating"
            raise _Restart
        kind = default_kind(resp)
        rule = None if resp.failure else find_rule(step.errors, resp.status)
        if rule is not None:
            kind = rule.kind if rule.kind != "ignore" else "ok"
            entry["classified"] = f"{rule.kind} (per response.errors)"
        else:
            entry["classified"] = kind
        if kind != "ok":
            raise _fail(
                dest, step, resp, ctx, kind, rule.message if rule else None, action=action.key, sent=sent
            )
        steps[step.name] = resp.as_step()
        if key is not None and 200 <= resp.status < 300:
            assert cache is not None and step.cache_ttl is not None
            cache.set(key, steps[step.name], step.cache_ttl)
    result = (
        evaluate(action.result, ctx, action=action.key, step=None, sent=sent)
        if action.result is not None
        else None
    )
    trace.append({"kind": "result", "value": result})
    return ActionResult(
        action=action.key,
        payload=prep.payload,
        requests=[
            SentRequest(r.method, mask(r.url, inst.secrets), mask(r.json, inst.secrets), r.status, r.step)
            for r in sent
        ]
        if inst.secrets
        else list(sent),
        result=mask(result, inst.secrets),
        trace=mask(trace, inst.secrets),
    )


def plan(dest: DestinationSpec, prep: Prepared, inst: Instance, cache: Cache | None) -> list[PlannedRequest]:
    """Render every step without sending; later steps see earlier responses as placeholders."""
    action = prep.action
    steps: dict[str, Any] = {}
    ctx = {
        "payload": prep.payload,
        "settings": inst.settings,
        "vars": prep.vars,
        "steps": steps,
        "event": prep.event,
    }
    rendered: list[tuple[StepSpec, RenderedRequest, str, bool]] = []
    for step in action.steps:
        condition = "always"
        if step.when is not None:
            reads = sorted(getattr(step.when, "step_refs", ()) or ())
            if reads:
                condition = f"when `{step.when_text}` (decided by the response of {', '.join(reads)})"
            elif not truthy(evaluate(step.when, ctx, action=action.key, step=step.name, sent=[])):
                steps[step.name] = None
                continue
            else:
                condition = f"when `{step.when_text}` (true)"
        try:
            req = render_request(
                step.request, ctx, base_url=inst.base_url, base_headers=inst.headers, planning=True
            )
        except EngineError as exc:
            raise locate(exc, action=action.key, step=step.name) from None
        cached = False
        if step.cache_ttl is not None and cache is not None and "<steps." not in req.url:
            cached = cache.get(cache_key(dest, req, inst)) is not None
        rendered.append((step, req, condition, cached))
        steps[step.name] = Pending(f"steps.{step.name}")
    # One masking pass over everything shown (cheaper than one per part).
    shown = mask([[r.url, r.query, r.json if r.has_json else None] for _, r, _, _ in rendered], inst.secrets)
    return [
        PlannedRequest(
            step=step.name,
            method=req.method,
            url=url,
            query=query,
            json=body,
            condition=condition,
            depends_on=tuple(sorted(req.pending)),
            cached=cached,
        )
        for (step, req, condition, cached), (url, query, body) in zip(rendered, shown, strict=True)
    ]


def choices_flow(dest: DestinationSpec, dyn: DynamicSpec, inst: Instance) -> Flow:
    """Fetch every page of a dynamic source and turn it into ``[{value, label}]``."""
    ctx = {"settings": inst.settings}
    out: list[dict[str, Any]] = []
    offset = 0
    next_url: str | None = None
    for _page in range(dyn.max_pages):
        try:
            req = render_request(dyn.request, ctx, base_url=inst.base_url, base_headers=inst.headers)
        except EngineError as exc:
            raise locate(exc, action=f"dynamic:{dyn.name}") from None
        if dyn.style == "offset":
            req.query = {**req.query, dyn.limit_param: str(dyn.page_size), dyn.offset_param: str(offset)}
        elif next_url is not None:
            req.url = next_url if "://" in next_url else inst.base_url + "/" + next_url.lstrip("/")
            req.query = {}
        resp = yield f"dynamic:{dyn.name}", req
        kind = default_kind(resp)
        if kind != "ok":
            message = resp.failure or api_message(resp, dest.error_message) or f"HTTP {resp.status}"
            raise build_error(
                kind,
                f"could not load choices {dyn.name!r}: {message}",
                resp,
                action=f"dynamic:{dyn.name}",
                status=resp.status or None,
            )
        items = dyn.items.evaluate(resp.body) if dyn.items is not None else resp.body
        if dyn.style == "offset" and not items:
            break
        out.extend(_choices(dyn, dyn.choices.evaluate(items) if items else []))
        if dyn.style == "offset":
            offset += dyn.page_size
        elif dyn.style == "next_link":
            found = dyn.next.evaluate(resp.body) if dyn.next is not None else None
            if not found or not isinstance(found, str):
                break
            next_url = found
        else:
            break
    return mask(out, inst.secrets)


def _choices(dyn: DynamicSpec, found: Any) -> list[dict[str, Any]]:
    if found is None:
        return []
    if not isinstance(found, list):
        raise MappingError(
            f"choices of {dyn.name!r} must be a list of {{value, label}}", action=f"dynamic:{dyn.name}"
        )
    out = []
    for item in found:
        if not isinstance(item, dict) or "value" not in item:
            raise MappingError(
                f"choices of {dyn.name!r} must be objects with value and label", action=f"dynamic:{dyn.name}"
            )
        out.append({"value": item["value"], "label": str(item.get("label", item["value"]))})
    return out


def test_auth_flow(dest: DestinationSpec, inst: Instance) -> Flow:
    """Send the destination's test request; refused credentials raise AuthenticationError."""
    spec = dest.test_authentication
    if spec is None:
        return None
    try:
        req = render_request(
            spec.request, {"settings": inst.settings}, base_url=inst.base_url, base_headers=inst.headers
        )
    except EngineError as exc:
        raise locate(exc, action="test_authentication") from None
    resp = yield "test_authentication", req
    if 200 <= resp.status < 300 and not resp.failure:
        return None
    custom = spec.errors.get(str(resp.status)) or spec.errors.get(f"{resp.status // 100}xx")
    message = resp.failure or api_message(resp, dest.error_message) or f"HTTP {resp.status}"
    if custom is not None or resp.status in (401, 403):
        raise AuthenticationError(
            custom or message,
            action="test_authentication",
            status=resp.status,
            api_message=None if resp.failure else mask(message, inst.secrets),
        )
    raise build_error(
        default_kind(resp),
        mask(message, inst.secrets),
        resp,
        action="test_authentication",
        status=resp.status or None,
    )
