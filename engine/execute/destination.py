"""The runnable destination: the embedding API (`load_destination`, `Destination`)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Protocol

import jsonschema

from engine.errors import ConfigError, EngineError, SpecError
from engine.execute.cache import Cache, MemoryCache
from engine.execute.flows import (
    Flow,
    Instance,
    Prepared,
    action_flow,
    choices_flow,
    locate,
    plan,
    prepare,
    test_auth_flow,
)
from engine.execute.render import RenderedRequest
from engine.execute.response import Response
from engine.execute.result import ActionResult, PlannedRequest
from engine.execute.secrets import mask, secret_values
from engine.execute.transport import Transport
from engine.spec.jsonfile import json_path
from engine.spec.loader import load_spec
from engine.spec.model import Action, DestinationSpec, DynamicSpec

try:  # the contract allows either home for build_payload
    from engine.values.mapping import build_payload
except ImportError:  # pragma: no cover
    from engine.mapping import build_payload  # type: ignore[no-redef]
from engine.values import compile_value

_MAX_INSTANCES = 256
_MAX_MAPPINGS = 1024


class Limiter(Protocol):
    """A request budget (e.g. per account); called before every HTTP request."""

    def acquire(self) -> None: ...

    async def aacquire(self) -> None: ...


def load_destination(name_or_path: str | os.PathLike[str], *, cache: Cache | None = None) -> Destination:
    """Load a bundled destination by name (``"acme"``) or a spec folder, ready to run actions."""
    return Destination(load_spec(name_or_path), cache=cache)


class Destination:
    """A loaded destination. Thread-safe; holds pooled HTTP clients until `close()`/`aclose()`."""

    def __init__(self, spec: DestinationSpec, *, cache: Cache | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.slug = spec.slug
        self.description = spec.description
        self.actions: Mapping[str, Action] = spec.actions
        self.settings_schema = spec.settings_schema
        self.max_subscriptions = spec.max_subscriptions
        self.rate_limit = spec.rate_limit
        self.cache: Cache = cache if cache is not None else MemoryCache()
        self._transport = Transport(spec.timeout)
        self._settings_validator = jsonschema.Draft202012Validator(spec.settings_schema)
        self._instances: OrderedDict[str, Instance] = OrderedDict()
        self._mappings: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        # One-entry memos for the common case of a worker passing the same objects every time.
        self._last_instance: tuple[Any, str | None, dict[str, Any], Instance] | None = None
        self._last_mapping: tuple[Any, Any, dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"<Destination {self.slug} actions={sorted(self.actions)}>"

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self._transport.close()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lookups -----------------------------------------------------------------------------------
    def action(self, key: str) -> Action:
        try:
            return self.actions[key]
        except KeyError:
            known = ", ".join(sorted(self.actions)) or "none"
            raise SpecError(
                f"unknown action {key!r} (actions: {known})", file=str(self.spec.folder)
            ) from None

    def mask_secrets(self, obj: Any, settings: Mapping[str, Any]) -> Any:
        """`obj` with every secret setting value (``writeOnly`` settings) replaced by ``***``."""
        return mask(obj, secret_values(settings, self.spec.secret_keys))

    # -- per-settings state ---------------------------------------------------------------------------
    def _instance(self, settings: Mapping[str, Any], base_url: str | None) -> Instance:
        if not isinstance(settings, Mapping):
            raise ConfigError("settings must be an object", path="$.settings")
        # Fast path: the same settings object as last time, unchanged (a C-level dict comparison).
        last = self._last_instance
        if last is not None and last[0] is settings and last[1] == base_url and last[2] == settings:
            return last[3]
        fingerprint = json.dumps(settings, sort_keys=True, default=str)
        memo = f"{base_url or ''}\n{fingerprint}"
        with self._lock:
            inst = self._instances.get(memo)
            if inst is not None:
                self._instances.move_to_end(memo)
                self._last_instance = (settings, base_url, inst.settings, inst)
                return inst
        inst = self._resolve(_deep_copy(settings), base_url, fingerprint)
        with self._lock:
            self._instances[memo] = inst
            while len(self._instances) > _MAX_INSTANCES:
                self._instances.popitem(last=False)
        self._last_instance = (settings, base_url, inst.settings, inst)
        return inst

    def _resolve(self, settings: dict[str, Any], base_url: str | None, fingerprint: str) -> Instance:
        secrets = secret_values(settings, self.spec.secret_keys)
        errors = sorted(self._settings_validator.iter_errors(settings), key=lambda e: list(e.absolute_path))
        if errors:
            err = errors[0]
            raise ConfigError(
                mask(f"invalid settings: {err.message}", secrets),
                path=json_path(["settings", *err.absolute_path]),
            )
        ctx = {"settings": settings}
        try:
            url = base_url or self.spec.base_url.evaluate(ctx)
            headers = {}
            if self.spec.headers is not None:
                headers = {
                    k: str(v) for k, v in (self.spec.headers.evaluate(ctx) or {}).items() if v is not None
                }
            headers.update(self._auth_headers(ctx))
        except EngineError:
            raise
        except Exception as exc:
            raise ConfigError(
                mask(f"settings could not be applied: {exc}", secrets), path="$.settings"
            ) from None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"base URL must be an http(s) URL, got {mask(str(url), secrets)!r}", path="$.base_url"
            )
        url = url.rstrip("/")
        auth_material = json.dumps(sorted(headers.items()))
        client_key = hashlib.sha256(f"{url}\n{auth_material}".encode()).hexdigest()
        return Instance(
            base_url=url,
            headers=headers,
            secrets=secrets,
            client_key=client_key,
            fingerprint=hashlib.sha256(fingerprint.encode()).hexdigest(),
            settings=settings,
        )

    def _auth_headers(self, ctx: dict[str, Any]) -> dict[str, str]:
        auth = self.spec.auth
        if auth is None:
            return {}
        parts = {}
        for key, value in auth.parts.items():
            found = value.evaluate(ctx)
            if found is None:
                raise ConfigError(f"authentication {key} resolved to null", path=f"$.authentication.{key}")
            parts[key] = str(found)
        if auth.scheme == "basic":
            token = base64.b64encode(f"{parts['username']}:{parts['password']}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        if auth.scheme == "bearer":
            return {"Authorization": f"Bearer {parts['token']}"}
        return {auth.header_name: parts["value"]}

    def _compiled_mapping(self, mapping: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if mapping is None:
            return None
        if not isinstance(mapping, Mapping):
            raise ConfigError("mapping must be an object", path="$.mapping")
        last = self._last_mapping
        if last is not None and last[0] is mapping and last[1] == mapping:
            return last[2]
        if all(hasattr(v, "evaluate") for v in mapping.values()):
            return dict(mapping)
        key = json.dumps(mapping, sort_keys=True, default=repr)
        with self._lock:
            found = self._mappings.get(key)
        if found is not None:
            self._last_mapping = (mapping, _deep_copy(mapping), found)
            return found
        compiled = {
            k: v if hasattr(v, "evaluate") else compile_value(v, file="<mapping>", path=json_path([k]))
            for k, v in mapping.items()
        }
        with self._lock:
            self._mappings[key] = compiled
            while len(self._mappings) > _MAX_MAPPINGS:
                self._mappings.popitem(last=False)
        self._last_mapping = (mapping, _deep_copy(mapping), compiled)
        return compiled

    def _prepare(
        self,
        action_key: str,
        event: Any,
        settings: Mapping[str, Any],
        mapping: Mapping[str, Any] | None,
        base_url: str | None,
    ) -> tuple[Prepared, Instance]:
        action = self.action(action_key)
        inst = self._instance(settings, base_url)
        compiled = self._compiled_mapping(mapping)
        try:
            payload = build_payload(action.fields, action.defaults, compiled, event, action=action.key)
        except EngineError as exc:
            raise locate(exc, action=action.key, requests=[]) from None
        trace = _field_trace(action, payload, mapping)
        return prepare(action, payload, event, inst, trace), inst

    # -- driving flows --------------------------------------------------------------------------------
    def _drive(self, flow: Flow, inst: Instance, limiter: Limiter | None) -> Any:
        try:
            _step, req = next(flow)
            while True:
                if limiter is not None:
                    limiter.acquire()
                _step, req = flow.send(self._transport.send(inst.client_key, req))
        except StopIteration as stop:
            return stop.value

    async def _adrive(self, flow: Flow, inst: Instance, limiter: Limiter | None) -> Any:
        try:
            _step, req = next(flow)
            while True:
                if limiter is not None:
                    await limiter.aacquire()
                resp: Response = await self._transport.asend(inst.client_key, req)
                _step, req = flow.send(resp)
        except StopIteration as stop:
            return stop.value

    # -- the embedding API --------------------------------------------------------------------------
    def run_action(
        self,
        action_key: str,
        event: Any,
        *,
        settings: Mapping[str, Any],
        mapping: Mapping[str, Any] | None = None,
        base_url: str | None = None,
        limiter: Limiter | None = None,
    ) -> ActionResult:
        """Map `event`, check the payload, send the action's requests; raises an engine error."""
        prep, inst = self._prepare(action_key, event, settings, mapping, base_url)
        result: ActionResult = self._drive(action_flow(self.spec, prep, inst, self.cache), inst, limiter)
        return result

    async def arun_action(
        self,
        action_key: str,
        event: Any,
        *,
        settings: Mapping[str, Any],
        mapping: Mapping[str, Any] | None = None,
        base_url: str | None = None,
        limiter: Limiter | None = None,
    ) -> ActionResult:
        """The asyncio twin of `run_action`."""
        prep, inst = self._prepare(action_key, event, settings, mapping, base_url)
        result: ActionResult = await self._adrive(
            action_flow(self.spec, prep, inst, self.cache), inst, limiter
        )
        return result

    def plan(
        self,
        action_key: str,
        event: Any,
        *,
        settings: Mapping[str, Any],
        mapping: Mapping[str, Any] | None = None,
        base_url: str | None = None,
    ) -> list[PlannedRequest]:
        """The requests `run_action` would send, rendered without sending (secrets masked)."""
        prep, inst = self._prepare(action_key, event, settings, mapping, base_url)
        return plan(self.spec, prep, inst, self.cache)

    def explain(
        self,
        action_key: str,
        event: Any,
        *,
        settings: Mapping[str, Any],
        mapping: Mapping[str, Any] | None = None,
        base_url: str | None = None,
    ) -> list[dict[str, Any]]:
        """The mapping and validation part of the trace, without sending anything."""
        prep, inst = self._prepare(action_key, event, settings, mapping, base_url)
        trace: list[dict[str, Any]] = mask(prep.trace, inst.secrets)
        return trace

    def _dynamic(self, name: str, action: str | None) -> DynamicSpec:
        dyn_name: str | None = None
        if action is not None:
            prop = self.action(action).fields.get("properties", {}).get(name)
            if prop is None:
                raise SpecError(f"action {action!r} has no field {name!r}", file=str(self.spec.folder))
            dyn_name = prop.get("x-dynamic")
            if dyn_name is None:
                raise SpecError(
                    f"field {name!r} of {action!r} has no x-dynamic choices", file=str(self.spec.folder)
                )
        elif name in self.spec.dynamic:
            dyn_name = name
        else:
            found = {
                a.fields.get("properties", {}).get(name, {}).get("x-dynamic") for a in self.actions.values()
            }
            found.discard(None)
            if len(found) == 1:
                dyn_name = found.pop()
        if dyn_name is None or dyn_name not in self.spec.dynamic:
            known = ", ".join(sorted(self.spec.dynamic)) or "none"
            raise SpecError(
                f"no dynamic choices named {name!r} (defined: {known})", file=str(self.spec.folder)
            )
        return self.spec.dynamic[dyn_name]

    def choices(
        self,
        field_or_dynamic_name: str,
        settings: Mapping[str, Any],
        *,
        action: str | None = None,
        base_url: str | None = None,
        limiter: Limiter | None = None,
    ) -> list[dict[str, Any]]:
        """The ``[{value, label}]`` choices of a field (or of a named `dynamic` entry), all pages."""
        dyn = self._dynamic(field_or_dynamic_name, action)
        inst = self._instance(settings, base_url)
        found: list[dict[str, Any]] = self._drive(choices_flow(self.spec, dyn, inst), inst, limiter)
        return found

    async def achoices(
        self,
        field_or_dynamic_name: str,
        settings: Mapping[str, Any],
        *,
        action: str | None = None,
        base_url: str | None = None,
        limiter: Limiter | None = None,
    ) -> list[dict[str, Any]]:
        dyn = self._dynamic(field_or_dynamic_name, action)
        inst = self._instance(settings, base_url)
        found: list[dict[str, Any]] = await self._adrive(choices_flow(self.spec, dyn, inst), inst, limiter)
        return found

    def test_authentication(self, settings: Mapping[str, Any], *, base_url: str | None = None) -> None:
        """Send the destination's test request; raises AuthenticationError when refused."""
        inst = self._instance(settings, base_url)
        self._drive(test_auth_flow(self.spec, inst), inst, None)

    async def atest_authentication(self, settings: Mapping[str, Any], *, base_url: str | None = None) -> None:
        inst = self._instance(settings, base_url)
        await self._adrive(test_auth_flow(self.spec, inst), inst, None)


def _deep_copy(value: Any) -> Any:
    """A JSON-level copy, so later mutation of the caller's object cannot alter what we memoised."""
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _field_trace(
    action: Action, payload: Mapping[str, Any], mapping: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """One trace entry per mapped field: its value and the expression that produced it."""
    props = action.fields.get("properties", {})
    defaults = action.defaults
    trace = []
    for name, value in payload.items():
        if mapping is not None and name in mapping:
            source, raw = "mapping", mapping[name]
            if hasattr(raw, "evaluate"):
                raw = repr(raw)
        elif name in defaults:
            source, raw = "default", props[name].get("default")
        else:
            source, raw = "payload", None
        trace.append({"kind": "field", "field": name, "value": value, "source": source, "expression": raw})
    return trace


__all__ = ["Destination", "Limiter", "RenderedRequest", "load_destination"]
