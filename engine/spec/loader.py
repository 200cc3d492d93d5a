"""Load a destination folder: parse, check against the meta-schemas, compile, cross-check references.

Everything that can be wrong with a spec is found here, at load time, with the file and the JSON
path; running an action never discovers a spec mistake.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema

from engine._resources import specs_dir
from engine.errors import SpecError
from engine.spec._positions import PositionIndex, index_of, place, relocated
from engine.spec.jsonfile import json_path, load_json_file, parse_json_text
from engine.spec.meta import check_against_meta
from engine.spec.model import (
    Action,
    Assertion,
    AuthSpec,
    Compiled,
    DestinationSpec,
    DynamicSpec,
    ErrorRule,
    RequestSpec,
    StepSpec,
    TestAuthSpec,
)
from engine.values import compile_jmespath, compile_value

#: Names a step-level value (vars, validate, when, request, result) may read.
ACTION_CONTEXT = frozenset({"payload", "settings", "vars", "steps", "event"})
#: Names a destination-level value (base URL, auth, headers, dynamic requests) may read.
SETTINGS_CONTEXT = frozenset({"settings"})
DEFAULT_TIMEOUT = 10.0


def resolve_folder(name_or_path: str | os.PathLike[str]) -> Path:
    """A bundled destination name (``"acme"``) or a folder path → the spec folder."""
    if isinstance(name_or_path, os.PathLike) or any(sep in str(name_or_path) for sep in ("/", os.sep)):
        folder = Path(name_or_path)
    else:
        candidate = Path(str(name_or_path))
        bundled = specs_dir() / str(name_or_path)
        folder = bundled if (bundled / "destination.json").is_file() or not candidate.is_dir() else candidate
    if not (folder / "destination.json").is_file():
        raise SpecError(
            f"no destination.json in {folder} (expected a bundled destination name or a spec folder)",
            file=str(folder),
        )
    return folder


def _plain_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _encode_constant(value: str | float) -> str:
    """A constant path segment, percent-encoded once at load (``@`` kept literal)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return quote(str(value), safe="@")


class _JMESPathValue:
    """Adapts a compiled JMESPath expression to the `evaluate(context)` shape of CompiledValue."""

    __slots__ = ("_expr", "text")

    def __init__(self, expr: Any, text: str) -> None:
        self._expr = expr
        self.text = text

    def evaluate(self, context: Any) -> Any:
        return self._expr.search(context)


class _Loader:
    """Compiles one destination folder; holds the current file name for error messages."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = ""
        self.text: str | None = None

    def read(self, path: Path) -> Any:
        """Parse one spec file and keep its text, so that later errors can name line and column."""
        self.file, self.text = str(path), None
        try:
            self.text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return load_json_file(path)  # reports the unreadable file the usual way
        try:
            return parse_json_text(self.text, file=self.file)
        except SpecError as exc:
            raise self.locate(exc) from None

    def locate(self, exc: SpecError) -> SpecError:
        """`exc` with the line and column of its JSON path in the current file (when it is about it).

        Unknown keys point at the key; expression errors at the column inside the string; a
        duplicate key (found by the JSON reader, which knows no paths) at its second occurrence.
        """
        if exc.file != self.file or exc.line is not None:
            return exc
        index = index_of(self.text)
        if index is None:
            return exc
        if exc.reason.startswith("invalid JSON: duplicate key"):
            return _place_duplicate(exc, index)
        return place(exc, index, key=exc.reason.startswith("unknown key"))

    # -- small compile helpers -------------------------------------------------------------
    def value(self, raw: Any, parts: Iterable[Any]) -> Any:
        return compile_value(raw, file=self.file, path=json_path(parts))

    def expression(self, text: str, parts: Iterable[Any]) -> Any:
        """A JMESPath over a context, compiled as a value so that its references are known."""
        path = json_path(parts)
        try:
            return compile_value({"@jmespath": text}, file=self.file, path=path)
        except SpecError as exc:
            # The wrapper object is ours, not the author's: report the string's own path.
            if exc.path == f'{path}["@jmespath"]':
                raise SpecError(exc.reason, file=exc.file, path=path, column=exc.column) from None
            raise

    def body_expression(self, text: str, parts: Iterable[Any]) -> _JMESPathValue:
        """A JMESPath over a response body (no context names to check)."""
        return _JMESPathValue(compile_jmespath(text, file=self.file, path=json_path(parts)), text)

    def fail(self, message: str, parts: Iterable[Any]) -> SpecError:
        return SpecError(message, file=self.file, path=json_path(parts))

    def check_refs(
        self,
        value: Any,
        parts: list[Any],
        *,
        allowed: frozenset[str],
        var_names: Iterable[str] = (),
        steps_before: Iterable[str] = (),
        all_steps: Iterable[str] = (),
    ) -> None:
        """Refuse names the value reads that do not exist (or do not exist yet) at its place."""
        refs = getattr(value, "references", None)
        if refs:
            unknown = sorted(set(refs) - allowed - {"@"})
            if unknown:
                raise self.fail(
                    f"unknown name {unknown[0]!r} (this value may read: {', '.join(sorted(allowed))})", parts
                )
        var_set = set(var_names)
        for name in sorted(getattr(value, "var_refs", ()) or ()):
            if name not in var_set and name != "*":
                raise self.fail(f"refers to undefined var {name!r}", parts)
        before, every = set(steps_before), set(all_steps)
        for name in sorted(getattr(value, "step_refs", ()) or ()):
            if name in before or name == "*":
                continue
            if name in every:
                raise self.fail(
                    f"refers to step {name!r}, which has not run at this point "
                    "(a step may read only earlier steps)",
                    parts,
                )
            raise self.fail(f"refers to undefined step {name!r}", parts)

    # -- requests ----------------------------------------------------------------------------
    def request(
        self,
        raw: Mapping[str, Any],
        parts: list[Any],
        *,
        allowed: frozenset[str],
        var_names: Iterable[str] = (),
        steps_before: Iterable[str] = (),
        all_steps: Iterable[str] = (),
    ) -> RequestSpec:
        compiled: dict[str, Any] = {}
        for key in ("path", "query", "headers", "json"):
            if key in raw:
                compiled[key] = self.value(raw[key], [*parts, key])
                self.check_refs(
                    compiled[key],
                    [*parts, key],
                    allowed=allowed,
                    var_names=var_names,
                    steps_before=steps_before,
                    all_steps=all_steps,
                )
        segments: tuple[Any, ...] | None = None
        if isinstance(raw["path"], list):
            # Per segment: constants are percent-encoded once here, the rest compiled on their own.
            segments = tuple(
                _encode_constant(seg.raw) if seg.is_constant and _plain_scalar(seg.raw) else seg
                for seg in (self.value(item, [*parts, "path", i]) for i, item in enumerate(raw["path"]))
            )
        return RequestSpec(
            method=str(raw["method"]).upper(),
            segments=segments,
            path=compiled["path"],
            path_is_list=isinstance(raw["path"], list),
            query=compiled.get("query"),
            headers=compiled.get("headers"),
            json=compiled.get("json"),
            has_json="json" in raw,
            reads_steps=any(getattr(v, "step_refs", None) for v in compiled.values()),
            file=self.file,
            where=json_path(parts),
        )

    # -- destination ---------------------------------------------------------------------------
    def destination(self) -> DestinationSpec:
        raw = self.read(self.folder / "destination.json")
        check_against_meta("destination", raw, file=self.file)
        settings_schema = raw["settings"]
        try:
            jsonschema.Draft202012Validator.check_schema(settings_schema)
        except jsonschema.SchemaError as exc:
            raise self.fail(
                f"settings is not a valid JSON Schema: {exc.message}", ["settings", *exc.absolute_path]
            ) from None
        secrets = frozenset(
            k
            for k, v in settings_schema.get("properties", {}).items()
            if isinstance(v, dict) and v.get("writeOnly")
        )
        base_url = self.value(raw["base_url"], ["base_url"])
        self.check_refs(base_url, ["base_url"], allowed=SETTINGS_CONTEXT)
        headers = None
        if "headers" in raw:
            headers = self.value(raw["headers"], ["headers"])
            self.check_refs(headers, ["headers"], allowed=SETTINGS_CONTEXT)
        auth = self.auth(raw.get("authentication"))
        error_message = (
            self.body_expression(raw["error_message"], ["error_message"]) if "error_message" in raw else None
        )
        test_auth = None
        if "test_authentication" in raw:
            ta = raw["test_authentication"]
            test_auth = TestAuthSpec(
                request=self.request(
                    ta["request"], ["test_authentication", "request"], allowed=SETTINGS_CONTEXT
                ),
                errors=dict(ta.get("errors", {})),
            )
        dynamic = {name: self.dynamic(name, spec) for name, spec in raw.get("dynamic", {}).items()}
        return DestinationSpec(
            name=raw["name"],
            slug=raw["slug"],
            description=raw.get("description", ""),
            settings_schema=settings_schema,
            secret_keys=secrets,
            base_url=base_url,
            auth=auth,
            headers=headers,
            timeout=float(raw.get("timeout", DEFAULT_TIMEOUT)),
            error_message=error_message,
            test_authentication=test_auth,
            max_subscriptions=raw.get("max_subscriptions"),
            rate_limit=raw.get("rate_limit"),
            dynamic=dynamic,
            actions={},
            folder=self.folder,
        )

    def auth(self, raw: Mapping[str, Any] | None) -> AuthSpec | None:
        if raw is None or raw["scheme"] == "none":
            return None
        parts: dict[str, Compiled] = {}
        for key in ("username", "password", "token", "value"):
            if key in raw:
                parts[key] = self.value(raw[key], ["authentication", key])
                self.check_refs(parts[key], ["authentication", key], allowed=SETTINGS_CONTEXT)
        return AuthSpec(scheme=raw["scheme"], parts=parts, header_name=raw.get("name", ""))

    def dynamic(self, name: str, raw: Mapping[str, Any]) -> DynamicSpec:
        base = ["dynamic", name]
        request = self.request(raw["request"], [*base, "request"], allowed=SETTINGS_CONTEXT)
        choices = self.body_expression(raw["choices"], [*base, "choices"])
        pag = raw.get("paginate") or {}
        style = pag.get("style")
        items = self.body_expression(pag["items"], [*base, "paginate", "items"]) if "items" in pag else None
        nxt = self.body_expression(pag["next"], [*base, "paginate", "next"]) if "next" in pag else None
        return DynamicSpec(
            name=name,
            request=request,
            choices=choices,
            style=style,
            limit_param=pag.get("limit_param", ""),
            offset_param=pag.get("offset_param", ""),
            page_size=int(pag.get("page_size", 0)),
            items=items,
            next=nxt,
            max_pages=int(pag.get("max_pages", 100)),
        )

    # -- actions ---------------------------------------------------------------------------------
    def action(self, path: Path, dest: DestinationSpec) -> Action:
        raw = self.read(path)
        check_against_meta("action", raw, file=self.file)
        if raw["key"] != path.stem:
            raise self.fail(f"key {raw['key']!r} differs from the file name {path.stem!r}", ["key"])
        fields = raw["fields"]
        try:
            jsonschema.Draft202012Validator.check_schema(fields)
        except jsonschema.SchemaError as exc:
            raise self.fail(
                f"fields is not a valid JSON Schema: {exc.message}", ["fields", *exc.absolute_path]
            ) from None
        defaults: dict[str, Any] = {}
        for fname, fspec in fields.get("properties", {}).items():
            fparts = ["fields", "properties", fname]
            if "default" in fspec:
                defaults[fname] = self.value(fspec["default"], [*fparts, "default"])
            if "x-dynamic" in fspec and fspec["x-dynamic"] not in dest.dynamic:
                known = ", ".join(sorted(dest.dynamic)) or "none"
                raise self.fail(
                    f"x-dynamic {fspec['x-dynamic']!r} is not a dynamic entry of the destination "
                    f"(defined: {known})",
                    [*fparts, "x-dynamic"],
                )
            if "x-transform" in fspec:
                compile_jmespath(
                    fspec["x-transform"], file=self.file, path=json_path([*fparts, "x-transform"])
                )
        step_names = [s["name"] for s in raw["steps"]]
        seen: set[str] = set()
        for i, name in enumerate(step_names):
            if name in seen:
                raise self.fail(f"duplicate step name {name!r}", ["steps", i, "name"])
            seen.add(name)
        var_order = self.vars(raw.get("vars", {}))
        var_names = [n for n, _ in var_order]
        validate = []
        for i, rule in enumerate(raw.get("validate", [])):
            expr = self.expression(rule["assert"], ["validate", i, "assert"])
            self.check_refs(
                expr,
                ["validate", i, "assert"],
                allowed=ACTION_CONTEXT,
                var_names=var_names,
                all_steps=step_names,
            )
            validate.append(
                Assertion(
                    expr=expr, text=rule["assert"], message=rule["message"], field=rule.get("field", "")
                )
            )
        steps = [self.step(i, s, var_names, step_names[:i], step_names) for i, s in enumerate(raw["steps"])]
        result = None
        if "result" in raw:
            result = self.value(raw["result"], ["result"])
            self.check_refs(
                result,
                ["result"],
                allowed=ACTION_CONTEXT,
                var_names=var_names,
                steps_before=step_names,
                all_steps=step_names,
            )
        return Action(
            key=raw["key"],
            title=raw["title"],
            description=raw.get("description", ""),
            default_trigger=raw.get("default_trigger", ""),
            fields=fields,
            defaults=defaults,
            vars=tuple(var_order),
            validate=tuple(validate),
            steps=tuple(steps),
            result=result,
            file=self.file,
            hidden=bool(raw.get("hidden", False)),
        )

    def vars(self, raw: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """Compile vars and order them so each runs after the vars it reads; refuse cycles."""
        compiled = {name: self.value(v, ["vars", name]) for name, v in raw.items()}
        for name, value in compiled.items():
            if getattr(value, "step_refs", None):
                step = sorted(value.step_refs)[0]
                raise self.fail(
                    f"var {name!r} reads steps.{step}, but vars are evaluated before any step runs",
                    ["vars", name],
                )
            self.check_refs(value, ["vars", name], allowed=ACTION_CONTEXT, var_names=compiled)
        order: list[tuple[str, Any]] = []
        state: dict[str, int] = {}  # 1 = visiting, 2 = done

        def visit(name: str, chain: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*chain[chain.index(name) :], name])
                raise self.fail(f"vars form a cycle: {cycle}", ["vars", name])
            state[name] = 1
            for dep in sorted(set(getattr(compiled[name], "var_refs", ()) or ()) - {"*"}):
                visit(dep, [*chain, name])
            state[name] = 2
            order.append((name, compiled[name]))

        for name in compiled:
            visit(name, [])
        return order

    def step(
        self, i: int, raw: Mapping[str, Any], var_names: list[str], before: list[str], every: list[str]
    ) -> StepSpec:
        base: list[Any] = ["steps", i]
        name = raw["name"]
        when = None
        if "when" in raw:
            when = self.expression(raw["when"], [*base, "when"])
            self.check_refs(
                when,
                [*base, "when"],
                allowed=ACTION_CONTEXT,
                var_names=var_names,
                steps_before=before,
                all_steps=every,
            )
        request = self.request(
            raw["request"],
            [*base, "request"],
            allowed=ACTION_CONTEXT,
            var_names=var_names,
            steps_before=before,
            all_steps=every,
        )
        errors: dict[str, ErrorRule] = {}
        for status, rule in raw.get("response", {}).get("errors", {}).items():
            rparts = [*base, "response", "errors", status, "message"]
            message = None
            if "message" in rule:
                message = self.value(rule["message"], rparts)
                self.check_refs(
                    message,
                    rparts,
                    allowed=ACTION_CONTEXT | {"response"},
                    var_names=var_names,
                    steps_before=before,
                    all_steps=every,
                )
            errors[status] = ErrorRule(kind=rule["kind"], message=message)
        ttl = raw.get("cache", {}).get("ttl")
        return StepSpec(
            name=name,
            request=request,
            when=when,
            when_text=raw.get("when"),
            cache_ttl=float(ttl) if ttl is not None else None,
            errors=errors,
            description=raw.get("description", ""),
        )


def _place_duplicate(exc: SpecError, index: PositionIndex) -> SpecError:
    """Point a duplicate-key error at the repeated key the JSON reader met first."""
    name = exc.reason.rsplit("duplicate key ", 1)[-1]
    for dup in index.duplicates:
        if repr(dup.key) == name:
            return relocated(exc, json_path(dup.parts), index.position(dup.key_offset))
    return exc


def load_spec(name_or_path: str | os.PathLike[str]) -> DestinationSpec:
    """Load and compile a destination folder (or a bundled destination by name)."""
    folder = resolve_folder(name_or_path)
    loader = _Loader(folder)
    try:
        dest = loader.destination()
        actions: dict[str, Action] = {}
        actions_dir = folder / "actions"
        for path in sorted(actions_dir.glob("*.json")) if actions_dir.is_dir() else []:
            action = loader.action(path, dest)
            actions[action.key] = action
    except SpecError as exc:
        raise loader.locate(exc) from None
    object.__setattr__(dest, "actions", actions)
    return dest
