"""The value language (plain JSON or directives), JMESPath compilation and field mapping.

Public API (docs/values.md, docs/functions.md):
- `compile_value(raw, *, file=None, path="$") -> CompiledValue` with `.evaluate(context)`;
- `compile_jmespath(expr, *, file=None, path="$") -> CompiledExpression` with `.search(data)`;
- `build_payload(fields_schema, defaults, mapping, event, *, action=None) -> dict`
  (in `engine.values.mapping`, re-exported here).
"""

from __future__ import annotations

from engine.values.compiler import DIRECTIVES, CompiledValue, compile_value, path_to_jmespath
from engine.values.expressions import CompiledExpression, compile_jmespath
from engine.values.functions import ENGINE_FUNCTIONS, function_names
from engine.values.mapping import PayloadBuilder, build_payload, payload_builder

__all__ = [
    "DIRECTIVES",
    "ENGINE_FUNCTIONS",
    "CompiledExpression",
    "CompiledValue",
    "PayloadBuilder",
    "build_payload",
    "compile_jmespath",
    "compile_value",
    "function_names",
    "path_to_jmespath",
    "payload_builder",
]
