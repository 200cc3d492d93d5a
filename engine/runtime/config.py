"""Instance config: parse, expand `${ENV_VAR}`, validate, and point errors at the field.

This module knows the file format only; binding the config to a destination (actions,
triggers, mappings, settings schema) happens in `engine.runtime.pipeline`.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from engine._resources import specs_dir
from engine.errors import ConfigError, SpecError
from engine.spec._positions import PositionIndex, index_of, place

_ENV_REF = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})")


@dataclass(frozen=True)
class SubscriptionConfig:
    name: str
    action: str
    trigger: str | None
    mapping: dict[str, Any] | None
    enabled: bool
    index: int

    @property
    def path(self) -> str:
        """JSON path of this subscription inside the config file (for error messages)."""
        return f"$.subscriptions[{self.index}]"


@dataclass(frozen=True)
class QueueConfig:
    backend: str = "sqlite"
    path: Path | None = None
    url: str | None = None
    dedupe_window: float = 86400.0
    synchronous: str = "full"
    #: Redis only: replicas that must hold a write before it is acknowledged (issue 7).
    min_replicas: int = 0


@dataclass(frozen=True)
class DeliveryConfig:
    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_max: float = 300.0
    lease_seconds: float = 60.0
    concurrency: int = 8
    batch_size: int = 100
    auth_pause: float = 60.0


@dataclass(frozen=True)
class InstanceConfig:
    """A validated instance config with environment references expanded."""

    file: str
    destination: str
    settings: dict[str, Any]
    subscriptions: list[SubscriptionConfig]
    endpoint: str | None = None
    allow_custom_endpoint: bool = False
    write_keys: list[str] = field(default_factory=list)
    server_host: str = "127.0.0.1"
    server_port: int = 8088
    queue: QueueConfig = field(default_factory=QueueConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    requests_per_minute: float | None = None
    burst: float | None = None
    #: Every string that came from the environment (masked in logs like secret settings).
    env_values: frozenset[str] = frozenset()
    #: The file's text as read, so that later checks (the pipeline's) can name line and column.
    text: str | None = field(default=None, repr=False, compare=False)

    def subscription(self, name: str) -> SubscriptionConfig | None:
        return next((s for s in self.subscriptions if s.name == name), None)

    def destination_ref(self) -> str | Path:
        """The destination as `load_destination` wants it: a bundled slug or a resolved path."""
        ref = self.destination
        if "/" in ref or ref.startswith("."):
            return (Path(self.file).parent / ref).resolve()
        return ref

    def with_endpoint(self, endpoint: str) -> InstanceConfig:
        """A copy pointing at another endpoint (the demo substitutes the sandbox's URL)."""
        from dataclasses import replace
        return replace(self, endpoint=endpoint.rstrip("/"))


@cache
def config_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((specs_dir() / "meta" / "config.schema.json").read_text("utf-8"))
    return data


def load_config(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> InstanceConfig:
    """Read, expand and validate an instance config file (format only, see module doc)."""
    file = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror or exc}", file=file) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno) from None
    return parse_config(raw, file=file, env=os.environ if env is None else env, text=text)


def parse_config(raw: Any, *, file: str = "<config>", env: Mapping[str, str] | None = None,
                 text: str | None = None) -> InstanceConfig:
    """Validate an already-parsed config document (see `load_config`).

    `text`, the JSON the document was parsed from, lets errors name line and column.
    """
    try:
        config = _parse(raw, file, env, text)
    except ConfigError as exc:
        raise locate(exc, text, raw_column=True) from None
    return config


def locate(exc: SpecError, text: str | None, *, key_path: str | None = None,
           raw_column: bool = False) -> SpecError:
    """`exc` carrying the line and column of its path in the config `text` (see `_positions`).

    `key_path` points at that member's key instead (an unknown key). A column inside a string
    (`exc.column` without a line) counts in the string as checked, after `${...}` expansion, so
    it is kept only when the string has no reference that expansion would have changed; with
    `raw_column` it counts in the string as written (the expansion's own errors).
    """
    index = _index(text)
    if index is None or exc.line is not None:
        return exc
    if exc.column is not None and not raw_column:
        raw = index.string_value(exc.path)
        if raw is None or _ENV_REF.search(raw):
            exc = type(exc)(exc.reason, file=exc.file, path=exc.path)
    return place(exc, index, path=key_path, key=key_path is not None)


@lru_cache(maxsize=8)
def _index(text: str | None) -> PositionIndex | None:
    """One index per config text, shared by every error of one check run."""
    return index_of(text)


def _parse(raw: Any, file: str, env: Mapping[str, str] | None, text: str | None) -> InstanceConfig:
    env_values: set[str] = set()
    expanded = _expand(raw, "$", file, os.environ if env is None else env, env_values)
    _validate_schema(expanded, file, text)
    subs: list[SubscriptionConfig] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(expanded["subscriptions"]):
        name = item["name"]
        if name in seen:
            raise ConfigError(f"duplicate subscription name {name!r} (also subscriptions[{seen[name]}])",
                              file=file, path=f"$.subscriptions[{i}].name")
        seen[name] = i
        subs.append(SubscriptionConfig(name=name, action=item["action"], trigger=item.get("trigger"),
                                       mapping=item.get("mapping"), enabled=item.get("enabled", True),
                                       index=i))
    server = expanded.get("server", {})
    queue = expanded.get("queue", {})
    delivery = expanded.get("delivery", {})
    rate = expanded.get("rate_limit", {})
    base = Path(file).parent
    qpath = queue.get("path")
    if qpath is None:
        qpath = Path(file).stem + ".queue.sqlite"
    endpoint = expanded.get("endpoint")
    return InstanceConfig(
        file=file,
        destination=expanded["destination"],
        settings=expanded["settings"],
        subscriptions=subs,
        endpoint=endpoint.rstrip("/") if endpoint else None,
        allow_custom_endpoint=expanded.get("allow_custom_endpoint", False),
        write_keys=list(server.get("write_keys", [])),
        server_host=server.get("host", "127.0.0.1"),
        server_port=server.get("port", 8088),
        queue=QueueConfig(backend=queue.get("backend", "sqlite"), path=(base / qpath),
                          url=queue.get("url"), dedupe_window=float(queue.get("dedupe_window", 86400)),
                          synchronous=queue.get("synchronous", "full"),
                          min_replicas=int(queue.get("min_replicas", 0))),
        delivery=DeliveryConfig(**delivery),
        requests_per_minute=rate.get("requests_per_minute"),
        burst=rate.get("burst"),
        env_values=frozenset(v for v in env_values if v),
        text=text,
    )


def _expand(value: Any, path: str, file: str, env: Mapping[str, str], used: set[str]) -> Any:
    if isinstance(value, str):
        return _expand_string(value, path, file, env, used)
    if isinstance(value, list):
        return [_expand(v, f"{path}[{i}]", file, env, used) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _expand(v, _child(path, k), file, env, used) for k, v in value.items()}
    return value


def _expand_string(text: str, path: str, file: str, env: Mapping[str, str], used: set[str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name is None:
            return "$"
        if name in env:
            used.add(env[name])
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"environment variable {name} is not set (write ${{{name}:-default}} "
                          "to give a default)", file=file, path=path, column=match.start() + 1)

    return _ENV_REF.sub(sub, text)


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{path}[{json.dumps(key)}]"


def json_path(parts: Any) -> str:
    """`$.a[0].b` from a jsonschema error path."""
    out = "$"
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else _child(out, str(part))
    return out


def _validate_schema(doc: Any, file: str, text: str | None) -> None:
    validator = jsonschema.Draft202012Validator(config_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if not errors:
        return
    best = jsonschema.exceptions.best_match(errors)
    message = _friendly(best)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    error = ConfigError(message, file=file, path=json_path(best.absolute_path))
    unknown = unknown_keys(best)
    key_path = json_path([*best.absolute_path, unknown[0]]) if unknown else None
    raise locate(error, text, key_path=key_path)


def unknown_keys(error: jsonschema.ValidationError) -> list[str]:
    """The keys an `additionalProperties` error refuses, in document order (else empty)."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [k for k in error.instance if k not in known and not any(p.search(k) for p in patterns)]


def _friendly(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return f"unknown key: {error.message.split('(')[-1].rstrip(')')}"
    if error.validator == "maxItems" and list(error.absolute_path) == ["subscriptions"]:
        return f"at most {error.validator_value} subscriptions are allowed"
    if error.validator == "pattern" and list(error.absolute_path) == ["endpoint"]:
        return "endpoint must be scheme://host[:port] (http or https, no path)"
    return error.message


# -- endpoint allow-list -------------------------------------------------------------------------
_TEMPLATE_REF = re.compile(r"\{\{\s*settings\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def destination_hosts(base_url: Any, settings_schema: Mapping[str, Any],
                      settings: Mapping[str, Any]) -> set[str]:
    """Hosts the destination's own base URL can name: every enum value of each setting it uses.

    `base_url` is the raw value from destination.json: a plain string or `{"@template": ...}`
    whose `{{ settings.x }}` references are expanded here over the configured value and, when
    the settings schema gives an `enum` for x, over every listed value (all regions).
    """
    template = base_url.get("@template") if isinstance(base_url, dict) else base_url
    if not isinstance(template, str):
        return set()
    names = set(_TEMPLATE_REF.findall(template))
    props = settings_schema.get("properties", {}) if isinstance(settings_schema, Mapping) else {}
    combos: list[dict[str, str]] = [{}]
    for name in sorted(names):
        options = {str(settings[name])} if name in settings else set()
        options.update(str(v) for v in props.get(name, {}).get("enum", []))
        combos = [dict(c, **{name: o}) for c in combos for o in sorted(options)]
    hosts: set[str] = set()
    for combo in combos:
        if set(combo) != names:
            continue
        url = _TEMPLATE_REF.sub(lambda m: combo[m.group(1)], template)  # noqa: B023
        host = urlsplit(url).hostname
        if host:
            hosts.add(host.lower())
    return hosts


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(config: InstanceConfig, allowed_hosts: set[str]) -> None:
    """Refuse an endpoint that would send the credentials somewhere unexpected."""
    if not config.endpoint or config.allow_custom_endpoint:
        return
    host = (urlsplit(config.endpoint).hostname or "").lower()
    if host in allowed_hosts or is_loopback(host):
        return
    shown = ", ".join(sorted(allowed_hosts)) or "none"
    raise ConfigError(
        f"endpoint host {host!r} is neither one of the destination's hosts ({shown}) nor a loopback "
        "address; the credentials would be sent there. Set \"allow_custom_endpoint\": true if you "
        "mean it", file=config.file, path="$.endpoint")
