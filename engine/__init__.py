"""Declarative destination engine.

Public entry points are re-exported here as their modules land; see docs/embedding.md.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
