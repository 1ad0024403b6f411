"""The escalation rules without a database: what a level is, when it fires (against a
plain model of the instants), the policy's JSON form, and the errors of bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ayra_tickets import AddTag, EscalationLevel, Notify, RaisePriority, Reassign
from ayra_tickets.domain import sla as sla_clock
from ayra_tickets.domain.calendar import BusinessCalendar
from ayra_tickets.domain.errors import ParameterInvalid
from ayra_tickets.domain.escalation import (
    breaches,
    fire_at,
    pending,
    policy_from_dict,
    policy_to_dict,
    validate_policy,
)
from ayra_tickets.domain.sla import DEFAULT_POLICY, AlwaysOpen, SlaPolicy
from ayra_tickets.domain.ticket import create, update

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
OFFICE = BusinessCalendar(hours={d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")})


def clock_for(response: int, resolution: int, paused: int = 0) -> sla_clock.SlaClock:
    policy = SlaPolicy(
        targets={
            3: {
                "response": timedelta(seconds=response),
                "resolution": timedelta(seconds=resolution),
            }
        }
    )
    return attrs.evolve(sla_clock.start(policy, 3, START), paused_seconds=paused)


# -- when a level fires, against a plain model ----------------------------------------

targets = st.integers(min_value=1, max_value=30 * 86_400)
shifts = st.integers(min_value=-40 * 86_400, max_value=40 * 86_400)
fractions = st.floats(min_value=0.01, max_value=10.0, allow_nan=False)


@given(
    targets,
    targets,
    st.integers(0, 86_400),
    shifts,
    st.sampled_from(["response_due", "resolution_due"]),
)
def test_a_shifted_level_fires_at_the_deadline_plus_its_shift_and_never_before_the_start(
    response: int, resolution: int, paused: int, shift: int, on: str
) -> None:
    clock = clock_for(response, resolution, paused)
    level = EscalationLevel(on=on, after=timedelta(seconds=shift), actions=[RaisePriority()])
    deadline_seconds = response if on == "response_due" else resolution + paused
    model = START + timedelta(seconds=max(0, deadline_seconds + shift))
    assert fire_at(level, clock, AlwaysOpen()) == (
        model,
        START + timedelta(seconds=deadline_seconds),
    )


@given(targets, targets, fractions, st.sampled_from(["response_due", "resolution_due"]))
def test_a_fraction_fires_at_that_share_of_the_target_to_the_second(
    response: int, resolution: int, fraction: float, on: str
) -> None:
    clock = clock_for(response, resolution)
    level = EscalationLevel(on=on, after=fraction, actions=[RaisePriority()])
    target = response if on == "response_due" else resolution
    assert fire_at(level, clock, AlwaysOpen())[0] == START + timedelta(
        seconds=round(fraction * target)
    )


@given(st.integers(0, 40).map(lambda n: n * 900), st.integers(0, 40).map(lambda n: n * 900))
def test_at_no_shift_a_level_fires_at_the_deadline_the_sla_shows_on_business_hours(
    response: int, resolution: int
) -> None:
    policy = SlaPolicy(
        calendar=OFFICE,
        targets={
            3: {
                "response": timedelta(seconds=response + 60),
                "resolution": timedelta(seconds=resolution + 60),
            }
        },
    )
    clock = sla_clock.start(policy, 3, START)
    for on, deadline in (
        ("response_due", clock.response_due_at),
        ("resolution_due", clock.resolution_due_at),
    ):
        level = EscalationLevel(on=on, after=timedelta(0), actions=[RaisePriority()])
        assert fire_at(level, clock, OFFICE) == (deadline, deadline)


def test_a_business_shift_counts_working_time_over_a_night() -> None:
    policy = SlaPolicy(
        calendar=OFFICE,
        targets={3: {"response": timedelta(hours=4), "resolution": timedelta(hours=16)}},
    )
    clock = sla_clock.start(policy, 3, START)  # Wednesday 09:00: resolution due Thursday 17:00
    level = EscalationLevel(
        on="resolution_due", after=-timedelta(hours=9), actions=[RaisePriority()]
    )
    assert fire_at(level, clock, OFFICE)[0] == datetime(2025, 1, 15, 16, 0, tzinfo=UTC)


def test_levels_fire_by_instant_then_by_their_order_and_only_while_they_matter() -> None:
    ticket, _ = create("ticket_x", 1, {"subject": "s", "description": "d"}, START, DEFAULT_POLICY)
    policy = {
        3: (
            EscalationLevel(on="resolution_due", after=0.5, actions=[RaisePriority()]),
            EscalationLevel(on="response_due", after=timedelta(0), actions=[RaisePriority()]),
            EscalationLevel(on="response_due", after=timedelta(0), actions=[AddTag("x")]),
        )
    }
    assert [d.level for d in pending(ticket, policy, AlwaysOpen(), set())] == [2, 3, 1]
    assert [d.level for d in pending(ticket, policy, AlwaysOpen(), {(0, 3, 2)})] == [3, 1]
    assert [d.level for d in pending(ticket, policy, AlwaysOpen(), {(1, 3, 2)})] == [2, 3, 1]
    answered, _ = update(ticket, {"status": "open"}, START, DEFAULT_POLICY)
    assert [d.level for d in pending(answered, policy, AlwaysOpen(), set())] == [1]
    resolved, _ = update(answered, {"status": "resolved"}, START, DEFAULT_POLICY)
    assert pending(resolved, policy, AlwaysOpen(), set()) == []
    assert breaches(resolved) == []
    assert [b.target for b in breaches(ticket)] == ["response", "resolution"]


# -- the policy's JSON form -----------------------------------------------------------

POLICY = {
    1: (
        EscalationLevel(
            on="response_due",
            after=-timedelta(minutes=15),
            actions=[AddTag("at-risk"), Notify("ticket.at_risk")],
        ),
        EscalationLevel(on="resolution_due", after=0.75, actions=[Reassign(group="oncall")]),
    ),
    2: (
        EscalationLevel(
            on="response_due", after=timedelta(0), actions=[Reassign(agent="a_1"), RaisePriority()]
        ),
    ),
}


def test_a_policy_reads_back_from_its_json_form_unchanged() -> None:
    data = policy_to_dict(POLICY)
    assert data["1"][0] == {
        "on": "response_due",
        "after": {"seconds": -900},
        "actions": [
            {"action": "add_tag", "tag": "at-risk"},
            {"action": "notify", "event": "ticket.at_risk"},
        ],
    }
    assert data["1"][1]["after"] == {"fraction": 0.75}
    assert policy_from_dict(data) == validate_policy(POLICY)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([], "JSON object"),
        ({"one": []}, "a priority is"),
        ({"1": {}}, "must be a list"),
        ({"1": [{"on": "response_due"}]}, "on, after and actions"),
        ({"1": [{"on": "response_due", "after": 5, "actions": []}]}, "seconds"),
        ({"1": [{"on": "response_due", "after": {"seconds": 1.5}, "actions": []}]}, "whole number"),
        (  # past the calendar's last date, else every create of that priority would fail
            {"1": [{"on": "response_due", "after": {"seconds": 10**20}, "actions": []}]},
            "within 366 days",
        ),
        (
            {"1": [{"on": "response_due", "after": {"seconds": 0}, "actions": {}}]},
            "actions must be a list",
        ),
        (
            {
                "1": [
                    {"on": "response_due", "after": {"seconds": 0}, "actions": [{"action": "page"}]}
                ]
            },
            "an action is",
        ),
        (
            {
                "1": [
                    {
                        "on": "response_due",
                        "after": {"seconds": 0},
                        "actions": [{"action": "reassign", "group": "a", "agent": "b"}],
                    }
                ]
            },
            "an action is",
        ),
    ],
)
def test_a_bad_json_policy_says_what_is_wrong(data: Any, says: str) -> None:
    with pytest.raises(ParameterInvalid, match=says):
        policy_from_dict(data)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (
            lambda: EscalationLevel(on="created", after=timedelta(0), actions=[RaisePriority()]),
            "response_due, resolution_due",
        ),
        (
            lambda: EscalationLevel(
                on="response_due", after=timedelta(seconds=1.5), actions=[RaisePriority()]
            ),
            "whole seconds",
        ),
        (
            lambda: EscalationLevel(
                on="response_due", after=timedelta(days=999_999_999), actions=[RaisePriority()]
            ),
            "within 366 days",
        ),
        (
            lambda: EscalationLevel(
                on="resolution_due", after=-timedelta(days=367), actions=[RaisePriority()]
            ),
            "within 366 days",
        ),
        (lambda: EscalationLevel(on="response_due", after=0, actions=[RaisePriority()]), "above 0"),
        (
            lambda: EscalationLevel(on="response_due", after=10.5, actions=[RaisePriority()]),
            "at most 10",
        ),
        (
            lambda: EscalationLevel(
                on="response_due", after=float("nan"), actions=[RaisePriority()]
            ),
            "above 0",
        ),
        (
            lambda: EscalationLevel(on="response_due", after=True, actions=[RaisePriority()]),
            "timedelta",
        ),
        (
            lambda: EscalationLevel(on="response_due", after="1h", actions=[RaisePriority()]),
            "timedelta",
        ),
        (lambda: EscalationLevel(on="response_due", after=0.5, actions=[]), "at least one action"),
        (lambda: EscalationLevel(on="response_due", after=0.5, actions="raise"), "list of actions"),
        (lambda: EscalationLevel(on="response_due", after=0.5, actions=["raise"]), "an action is"),
        (lambda: Reassign(), "exactly one"),
        (lambda: Reassign(group="a", agent="b"), "exactly one"),
        (lambda: Reassign(group=" "), "non-blank"),
        (lambda: AddTag("a,b"), "commas"),
        (lambda: AddTag(""), "tags"),
        (lambda: Notify("At Risk"), "lower-case dotted"),
        (lambda: Notify("atrisk"), "lower-case dotted"),
        (lambda: Notify("ticket.created"), "sends of itself"),
        (lambda: validate_policy({True: []}), "a priority is"),
        (lambda: validate_policy({0: []}), "a priority is"),
    ],
)
def test_a_bad_level_or_action_says_what_is_wrong(make: Any, says: str) -> None:
    with pytest.raises(ParameterInvalid, match=says):
        make()
