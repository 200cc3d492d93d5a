"""Trigger expressions: which events fire an action.

    >>> from engine.trigger import parse
    >>> t = parse('type = "track" and properties.total >= 100')
    >>> t.matches({"type": "track", "properties": {"total": 120}})
    True
    >>> str(t)
    'type = "track" and properties.total >= 100'

See docs/triggers.md for the language, its semantics and the differences from Segment's FQL.
"""

from __future__ import annotations

from engine.errors import TriggerSyntaxError
from engine.trigger.core import Trigger, from_ast, parse
from engine.trigger.parser import TriggerWarning
from engine.trigger.router import Router

__all__ = ["Router", "Trigger", "TriggerSyntaxError", "TriggerWarning", "from_ast", "parse"]
