"""The engine is generic: only spec files (and the sandbox that imitates the API) know Dotdigital."""

from __future__ import annotations

from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "engine"
# The sandbox imitates the Dotdigital API by design; CLI modules may name the bundled
# destination in help text. Everything else must stay destination-neutral.
ALLOWED = {"sandbox", "cli"}


def _engine_sources() -> list[Path]:
    return [p for p in ENGINE.rglob("*.py") if p.relative_to(ENGINE).parts[0] not in ALLOWED]


@pytest.mark.parametrize("path", _engine_sources(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_engine_code_does_not_name_a_destination(path: Path) -> None:
    text = path.read_text(encoding="utf-8").lower()
    for word in ("dotdigital", "apiconnector", "address-books", "contacts/v3"):
        assert word not in text, f"{path} mentions {word!r}: destination knowledge belongs in specs/"


def test_the_check_covers_the_core_packages() -> None:
    covered = {p.relative_to(ENGINE).parts[0] for p in _engine_sources()}
    assert {"trigger", "values", "spec", "execute", "runtime", "server"} <= covered
