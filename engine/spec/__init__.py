"""Spec files: load, validate against specs/meta/, compile, and cross-check references.

`load_spec` returns a `DestinationSpec` (pure data); `engine.execute` turns it into a runnable
`Destination`.
"""

from __future__ import annotations

from engine.spec.loader import load_spec, resolve_folder
from engine.spec.model import Action, DestinationSpec, DynamicSpec, RequestSpec, StepSpec

__all__ = [
    "Action",
    "DestinationSpec",
    "DynamicSpec",
    "RequestSpec",
    "StepSpec",
    "load_spec",
    "resolve_folder",
]
