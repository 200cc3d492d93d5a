"""Locate the grammar and spec folders in a source checkout and in an installed wheel.

The repository keeps `grammar/` and `specs/` at the top level; the wheel ships them as
`engine/_data/`. Everything that reads those files asks here instead of guessing paths.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def _data_root() -> Path:
    installed = _PACKAGE_DIR / "_data"
    if (installed / "grammar").is_dir():
        return installed
    return _PACKAGE_DIR.parent


def grammar_dir() -> Path:
    """Folder holding `trigger.lark`."""
    return _data_root() / "grammar"


def specs_dir() -> Path:
    """Folder holding `meta/` and one folder per bundled destination."""
    return _data_root() / "specs"


def examples_dir() -> Path:
    """Folder holding the demo's instance config and events."""
    return _data_root() / "examples"
