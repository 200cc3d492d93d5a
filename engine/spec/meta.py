"""The meta-schemas of specs/meta/: load them once and turn violations into SpecErrors."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from engine._resources import specs_dir
from engine.errors import SpecError
from engine.spec.jsonfile import json_path, load_json_file

META_NAMES = ("destination", "action", "fixture", "config")
_BASE = "https://ddengine.local/meta/"


@cache
def _registry() -> Registry:
    resources = []
    for name in META_NAMES:
        schema = load_json_file(specs_dir() / "meta" / f"{name}.schema.json")
        resources.append((_BASE + f"{name}.schema.json", Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def meta_validator(name: str) -> jsonschema.Draft202012Validator:
    """A compiled validator for one meta-schema (`destination`, `action`, `fixture`, `config`)."""
    schema = _registry()[_BASE + f"{name}.schema.json"].contents
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def _describe(error: ValidationError) -> tuple[str, list[Any]]:
    """A readable message and the JSON path parts of the offending value."""
    parts = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        if unknown:
            expected = ", ".join(sorted(allowed)) or "none"
            return f"unknown key {unknown[0]!r} (expected one of: {expected})", [*parts, unknown[0]]
    if error.validator == "required":
        return f"missing required key: {error.message.split(' is a required')[0]}", parts
    return error.message, parts


def check_against_meta(name: str, document: Any, *, file: str | None) -> None:
    """Raise SpecError naming file and JSON path when `document` breaks meta-schema `name`."""
    validator = meta_validator(name)
    error = best_match(validator.iter_errors(document), key=_relevance)
    if error is None:
        return
    message, parts = _describe(error)
    raise SpecError(message, file=file, path=json_path(parts))


def _relevance(error: ValidationError) -> tuple[int, int]:
    """Prefer deep errors and unknown keys: they point closest to the author's mistake."""
    return (len(error.absolute_path), 1 if error.validator == "additionalProperties" else 0)
