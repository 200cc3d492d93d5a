"""The Engage audiences example: identify with traits.<audience> = true adds to a list, false removes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.runtime.config import InstanceConfig, load_config
from engine.trigger import Router

from .conftest import SETTINGS
from .helpers import contact, list_ids

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dotdigital-engage-audiences.json"
ENV = {"DOTDIGITAL_USERNAME": SETTINGS["username"], "DOTDIGITAL_PASSWORD": SETTINGS["password"]}


def _identify(email: str, **audiences: bool) -> dict[str, Any]:
    return {"type": "identify", "userId": email, "messageId": f"m-{email}-{audiences}",
            "traits": {"email": email, **audiences},
            "context": {"personas": {"computation_class": "audience"}}}


@pytest.fixture(scope="module")
def config() -> InstanceConfig:
    return load_config(EXAMPLE, env=ENV)


@pytest.fixture(scope="module")
def router(config: InstanceConfig) -> Router[str]:
    return Router({sub.name: sub.trigger or "" for sub in config.subscriptions if sub.enabled})


def _actions(config: InstanceConfig, router: Router[str], event: dict[str, Any]) -> list[tuple[str, Any]]:
    by_name = {sub.name: sub for sub in config.subscriptions}
    return [(by_name[n].action, (by_name[n].mapping or {}).get("listId")) for n in router.match(event)]


def test_example_config_is_valid_and_uses_region_settings(config: InstanceConfig) -> None:
    assert config.destination == "dotdigital"
    assert config.settings == {"region": "r1", **{k: SETTINGS[k] for k in ("username", "password")}}
    assert len(config.subscriptions) == 4


def test_audience_entry_and_exit_route_to_add_and_remove(config: InstanceConfig, router: Router[str]) -> None:
    assert _actions(config, router, _identify("a@example.com", high_value_customers=True)) == [
        ("addContactToList", 1004)]
    assert _actions(config, router, _identify("a@example.com", high_value_customers=False)) == [
        ("removeContactFromList", 1004)]
    both = _identify("a@example.com", churn_risk=True, high_value_customers=False)
    assert _actions(config, router, both) == [("removeContactFromList", 1004), ("addContactToList", 1003)]
    # not an audience change: a plain identify, a string "true", a track event
    assert _actions(config, router, _identify("a@example.com")) == []
    as_string = {"type": "identify", "traits": {"email": "a@x.com", "churn_risk": "true"}}
    assert _actions(config, router, as_string) == []
    track = {"type": "track", "event": "x", "traits": {"high_value_customers": True}}
    assert _actions(config, router, track) == []


def test_audience_membership_follows_engage_in_the_sandbox(config: InstanceConfig, router: Router[str],
                                                           dest: Any, sb: Any) -> None:
    by_name = {sub.name: sub for sub in config.subscriptions}

    def deliver(event: dict[str, Any]) -> None:
        for name in router.match(event):
            sub = by_name[name]
            dest.run_action(sub.action, event, settings=config.settings, mapping=sub.mapping, base_url=sb.url)

    deliver(_identify("alice@example.com", high_value_customers=True))
    deliver(_identify("erin@example.com", high_value_customers=True, churn_risk=True))
    state = sb.state
    assert list_ids(contact(state, email="alice@example.com")) == {1001, 1004}
    assert list_ids(contact(state, email="erin@example.com")) == {1003, 1004}
    deliver(_identify("erin@example.com", high_value_customers=False))
    assert list_ids(contact(sb.state, email="erin@example.com")) == {1003}
