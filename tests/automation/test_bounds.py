"""Configuration is bounded: a list too long to be a desk's is refused, naming what is
wrong, and nothing of it is stored (every create would otherwise pay for it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from ayra_tickets import AddTag, Engine, EscalationLevel, RoutingRule
from ayra_tickets.domain.errors import ParameterInvalid
from ayra_tickets.domain.escalation import MAX_LEVELS
from ayra_tickets.domain.routing import MAX_RULES
from ayra_tickets.domain.webhooks import MAX_EVENTS, MAX_SUBSCRIPTIONS

URL = "http://127.0.0.1:9/hooks"


def too_many_rules(engine: Engine) -> object:
    rules = (RoutingRule(f"r{n}", match={}, group="g") for n in range(MAX_RULES + 1))
    return engine.routing.configure(rules)  # a generator: read only as far as needed


def too_many_levels(engine: Engine) -> object:
    level = EscalationLevel(on="response_due", after=timedelta(0), actions=[AddTag("late")])
    return engine.escalations.configure({1: [level] * (MAX_LEVELS + 1)})


def too_many_names(engine: Engine) -> object:
    return engine.webhooks.subscribe(URL, events=[f"desk.e{n}" for n in range(MAX_EVENTS + 1)])


def too_many_set(engine: Engine) -> object:
    return engine.webhooks.set([{"url": URL}] * (MAX_SUBSCRIPTIONS + 1))


@pytest.mark.parametrize(
    ("refused", "says"),
    [
        (too_many_rules, f"at most {MAX_RULES}"),
        (too_many_levels, f"at most {MAX_LEVELS} levels"),
        (too_many_names, f"at most {MAX_EVENTS}"),
        (too_many_set, f"at most {MAX_SUBSCRIPTIONS} subscriptions"),
    ],
)
def test_too_long_a_configuration_is_refused_and_nothing_is_stored(
    ayra_engine: Engine, refused: Callable[[Engine], object], says: str
) -> None:
    with pytest.raises(ParameterInvalid, match=says):
        refused(ayra_engine)
    assert list(ayra_engine.routing.rules) == []
    assert ayra_engine.escalations.policy == {}
    assert ayra_engine.webhooks.list() == []


def test_a_subscription_past_the_most_is_refused_and_the_others_stay(ayra_engine: Engine) -> None:
    for _ in range(MAX_SUBSCRIPTIONS):
        ayra_engine.webhooks.subscribe(URL)
    with pytest.raises(ParameterInvalid, match="unsubscribe one first"):
        ayra_engine.webhooks.subscribe(URL)
    assert len(ayra_engine.webhooks.list()) == MAX_SUBSCRIPTIONS


def test_the_contract_states_these_limits() -> None:
    import re
    from pathlib import Path

    from ayra_tickets.domain.escalation import MAX_SHIFT

    contract = (Path(__file__).resolve().parents[2] / "docs" / "contract.md").read_text()
    section = contract.split("### Bounds of automation", 1)[1].split("\n#", 1)[0]
    rows = dict(re.findall(r"^\| (.+?) \| ([^|]+?) \|$", section, flags=re.MULTILINE))
    assert rows["routing rules"] == str(MAX_RULES)
    assert rows["escalation levels a priority"] == str(MAX_LEVELS)
    assert rows["an escalation level's `after` (a shift)"] == f"{MAX_SHIFT.days} days either way"
    assert rows["webhook subscriptions"] == str(MAX_SUBSCRIPTIONS)
    assert rows["event names a subscription"] == str(MAX_EVENTS)
