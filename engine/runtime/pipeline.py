"""Bind an instance config to its destination: actions checked, triggers compiled, one router.

Everything that can be wrong in a config is found here, before any event flows, and reported
as a `ConfigError` pointing at the subscription and field.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from engine._resources import specs_dir
from engine.errors import ConfigError, SpecError, TriggerSyntaxError
from engine.runtime.config import (
    InstanceConfig,
    SubscriptionConfig,
    check_endpoint,
    destination_hosts,
    json_path,
    locate,
    unknown_keys,
)
from engine.runtime.logs import Masker, masker


@dataclass
class Pipeline:
    """A config bound to a loaded destination; routes events and delivers one subscription."""

    config: InstanceConfig
    destination: Any
    router: Any
    subscriptions: dict[str, SubscriptionConfig] = field(default_factory=dict)
    masker: Masker = field(default_factory=masker)

    @classmethod
    def bind(cls, config: InstanceConfig, *, destination: Any = None, cache: Any = None) -> Pipeline:
        """Load the destination (with a shared `cache`, e.g. Redis-backed, when given) and check
        every subscription; raises `ConfigError` pointing at the subscription and field."""
        import engine
        from engine.trigger import Router

        load_destination = engine.load_destination

        if destination is None:
            try:
                destination = load_destination(config.destination_ref(), cache=cache)
            except SpecError as exc:
                if exc.file is None or "not found" in str(exc).lower():
                    raise locate(ConfigError(str(exc), file=config.file, path="$.destination"),
                                 config.text) from None
                raise
        # Every check runs, so that one `config check` shows every problem of the file at once.
        problems: list[ConfigError] = []
        for check in (_check_settings, _check_count):
            _collect(problems, check, config, destination)
        _collect(problems, lambda: check_endpoint(config, _allowed_hosts(config, destination)))
        triggers: dict[str, Any] = {}
        enabled: dict[str, SubscriptionConfig] = {}
        for sub in config.subscriptions:
            action = _collect(problems, _action, config, destination, sub)
            if action is None:
                continue
            _collect(problems, _check_mapping, config, sub, action)
            trigger = _collect(problems, _trigger, config, sub, sub.trigger or action.default_trigger)
            if trigger is not None:
                triggers[sub.name] = trigger
            if sub.enabled:
                enabled[sub.name] = sub
        if problems:
            raise _combined(config, [_located(config, p) for p in problems])
        router = Router({name: trig for name, trig in triggers.items() if name in enabled})
        pipe = cls(config=config, destination=destination, router=router, subscriptions=enabled)
        pipe.masker.add(pipe.secret_values())
        return pipe

    # -- routing and delivery --------------------------------------------------------------
    def route(self, event: Mapping[str, Any]) -> list[str]:
        """Names of the enabled subscriptions whose trigger matches the event."""
        return list(self.router.match(event))

    async def deliver(self, subscription: str, event: Mapping[str, Any], *, limiter: Any) -> Any:
        """Run the subscription's action on the event (raises engine errors on failure)."""
        sub = self.subscriptions.get(subscription)
        if sub is None:
            raise ConfigError(f"subscription {subscription!r} is no longer enabled in the config",
                              file=self.config.file, path="$.subscriptions")
        return await self.destination.arun_action(
            sub.action, dict(event), settings=self.config.settings, mapping=sub.mapping,
            base_url=self.config.endpoint, limiter=limiter)

    def plan(self, subscription: str, event: Mapping[str, Any]) -> list[Any]:
        sub = self.subscriptions[subscription]
        return list(self.destination.plan(sub.action, dict(event), settings=self.config.settings,
                                          mapping=sub.mapping, base_url=self.config.endpoint))

    def mask(self, obj: Any) -> Any:
        """Secrets out: the destination's own masking, then every known secret string."""
        # Masking must never fail a delivery; the masker below still runs.
        with contextlib.suppress(Exception):
            obj = self.destination.mask_secrets(obj, self.config.settings)
        return self.masker(obj)

    def secret_values(self) -> set[str]:
        schema = getattr(self.destination, "settings_schema", {}) or {}
        props = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
        secrets = {str(self.config.settings[k]) for k, p in props.items()
                   if isinstance(p, Mapping) and p.get("writeOnly") and self.config.settings.get(k)}
        secrets.update(self.config.write_keys)
        return secrets

    def rate_limit(self) -> float | None:
        """Requests per minute for the account: the config's, else the destination's hint."""
        if self.config.requests_per_minute:
            return self.config.requests_per_minute
        hint = getattr(self.destination, "rate_limit", None)
        if isinstance(hint, Mapping):
            value = hint.get("requests_per_minute")
            return float(value) if value else None
        return float(hint) if isinstance(hint, int | float) and hint > 0 else None

    def close(self) -> None:
        close = getattr(self.destination, "close", None)
        if callable(close):
            close()


def _collect(problems: list[ConfigError], check: Any, *args: Any) -> Any:
    """Run one check; a ConfigError is kept for the combined report instead of stopping."""
    try:
        return check(*args)
    except ConfigError as exc:
        problems.extend(getattr(exc, "problems", None) or [exc])
        return None


def _located(config: InstanceConfig, problem: ConfigError, key_path: str | None = None) -> ConfigError:
    """The problem with the line and column of its path in the config file (when it has none);
    `key_path` points at that member's key instead (an unknown key)."""
    located = locate(problem, config.text, key_path=key_path)
    return located if isinstance(located, ConfigError) else problem


def _combined(config: InstanceConfig, problems: list[ConfigError]) -> ConfigError:
    if len(problems) == 1:
        return problems[0]
    lines = "\n".join(f"  {_where(p)}{p.path}: {p.reason}" for p in problems)
    error = ConfigError(f"{len(problems)} problems:\n{lines}", file=config.file, path="$")
    error.problems = problems  # type: ignore[attr-defined]
    return error


def _where(problem: ConfigError) -> str:
    """`LINE:COL: ` for a problem that knows its place in the file, else nothing."""
    if problem.line is None:
        return ""
    return f"{problem.line}:{problem.column}: " if problem.column is not None else f"{problem.line}: "


def _action(config: InstanceConfig, destination: Any, sub: SubscriptionConfig) -> Any:
    actions = destination.actions
    if sub.action not in actions:
        known = ", ".join(sorted(actions))
        raise ConfigError(f"unknown action {sub.action!r} (this destination has: {known})",
                          file=config.file, path=f"{sub.path}.action")
    return actions[sub.action]


def _trigger(config: InstanceConfig, sub: SubscriptionConfig, text: str) -> Any:
    from engine.trigger import parse

    try:
        return parse(text)
    except TriggerSyntaxError as exc:
        where = "trigger" if sub.trigger else "action default trigger"
        # The trigger's own line/column become a place inside the config's string; a default
        # trigger lives in the action file, so the error points at the subscription instead.
        inner = _offset(text, exc.line, exc.column) + 1 if sub.trigger else None
        raise ConfigError(f"{where}: {exc}", file=config.file, path=f"{sub.path}.trigger",
                          column=inner) from None


def _offset(text: str, line: int, column: int) -> int:
    """0-based offset of a 1-based (line, column) in `text`, lines split at newlines."""
    lines = text.split("\n")
    return sum(len(item) + 1 for item in lines[: max(line - 1, 0)]) + max(column - 1, 0)


def _check_mapping(config: InstanceConfig, sub: SubscriptionConfig, action: Any) -> None:
    from engine.values import compile_value

    props = (action.fields or {}).get("properties", {})
    for key, raw in (sub.mapping or {}).items():
        path = json_path(["subscriptions", sub.index, "mapping", key])
        if key not in props:
            raise locate(ConfigError(f"unknown field {key!r} for action {sub.action} (fields: "
                                     f"{', '.join(sorted(props))})", file=config.file, path=path),
                         config.text, key_path=path)
        try:
            compile_value(raw, file=config.file, path=path)
        except SpecError as exc:
            raise ConfigError(exc.reason, file=config.file, path=exc.path or path,
                              line=exc.line, column=exc.column) from None
    missing = [name for name in (action.fields or {}).get("required", [])
               if name not in (sub.mapping or {}) and "default" not in props.get(name, {})]
    if missing:
        raise ConfigError(f"action {sub.action} needs {', '.join(repr(m) for m in missing)}, which "
                          "has no default: give it in the mapping", file=config.file,
                          path=f"{sub.path}.mapping")


def _check_settings(config: InstanceConfig, destination: Any) -> None:
    schema = getattr(destination, "settings_schema", None)
    if not schema:
        return
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config.settings), key=lambda e: list(map(str, e.absolute_path)))
    problems = []
    for error in errors:
        path = json_path(["settings", *error.absolute_path])
        # Never echo the offending value: it may be a password.
        message = error.message if error.validator in {"required", "additionalProperties"} else \
            f"does not satisfy {error.validator!r} ({_describe(error.validator, error.validator_value)})"
        unknown = unknown_keys(error)
        key_path = json_path(["settings", *error.absolute_path, unknown[0]]) if unknown else None
        problems.append(_located(config, ConfigError(message, file=config.file, path=path), key_path))
    if problems:
        raise _combined(config, problems)


def _describe(keyword: object, value: Any) -> str:
    if keyword == "enum":
        return "one of " + ", ".join(json.dumps(v) for v in value)
    return f"{keyword}: {json.dumps(value, default=str)}"


def _check_count(config: InstanceConfig, destination: Any) -> None:
    limit = getattr(destination, "max_subscriptions", None)
    if isinstance(limit, int) and len(config.subscriptions) > limit:
        raise ConfigError(f"{destination.name} allows at most {limit} subscriptions, "
                          f"this config has {len(config.subscriptions)}", file=config.file,
                          path="$.subscriptions")


def _allowed_hosts(config: InstanceConfig, destination: Any) -> set[str]:
    """The hosts the destination's own base URL yields over every enum value of its settings."""
    schema = getattr(destination, "settings_schema", {}) or {}
    compiled = getattr(getattr(destination, "spec", None), "base_url", None)
    if callable(getattr(compiled, "evaluate", None)):
        props = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
        choices = [(k, p["enum"]) for k, p in props.items() if isinstance(p, Mapping) and p.get("enum")]
        hosts: set[str] = set()
        for combo in itertools.islice(itertools.product(*(values for _, values in choices)), 256):
            settings = dict(config.settings)
            settings.update({name: value for (name, _), value in zip(choices, combo, strict=True)})
            with contextlib.suppress(Exception):
                host = urlsplit(str(compiled.evaluate({"settings": settings}))).hostname  # type: ignore[union-attr]
                if host:
                    hosts.add(host.lower())
        if hosts:
            return hosts
    return destination_hosts(_raw_base_url(config, destination), schema, config.settings)


def _raw_base_url(config: InstanceConfig, destination: Any) -> Any:
    for attr in ("base_url_template", "raw_base_url"):
        value = getattr(destination, attr, None)
        if value is not None:
            return value
    spec = getattr(destination, "spec", None) or getattr(destination, "raw", None)
    if isinstance(spec, Mapping) and "base_url" in spec:
        return spec["base_url"]
    ref = config.destination_ref()
    folder = Path(ref) if isinstance(ref, Path) else specs_dir() / str(getattr(destination, "slug", ref))
    try:
        return json.loads((folder / "destination.json").read_text("utf-8")).get("base_url")
    except (OSError, ValueError):
        return None
