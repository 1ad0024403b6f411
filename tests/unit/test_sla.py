"""The SLA clock's rules, pure functions on a 24x7 calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ayra_tickets.domain import sla
from ayra_tickets.domain.sla import DEFAULT_POLICY, AlwaysOpen, SlaPolicy, Targets

T0 = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
CAL = AlwaysOpen()


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.mark.parametrize(
    ("priority", "response", "resolution"),
    [(1, 1, 4), (2, 8, 48), (3, 48, 120), (4, 168, 336)],
)
def test_default_targets_follow_the_priority_table(
    priority: int, response: int, resolution: int
) -> None:
    clock = sla.start(DEFAULT_POLICY, priority, T0)
    assert clock.response_due_at == at(response)
    assert clock.resolution_due_at == at(resolution)


def test_response_is_undecided_until_the_deadline_then_missed_for_good() -> None:
    clock = sla.start(DEFAULT_POLICY, 1, T0)
    assert sla.evaluate(clock, CAL, at(1)).response_met is None
    late = sla.evaluate(clock, CAL, at(1) + timedelta(seconds=1))
    assert late.response_met is False
    assert late.breached
    # A response after the deadline stays a miss, and so does a later, longer target.
    answered = sla.respond(sla.observe(clock, at(2)), at(2))
    assert answered.response_met is False
    relaxed = sla.reprioritize(answered, DEFAULT_POLICY, 4, at(2))
    assert relaxed.response_met is False


def test_a_response_exactly_at_the_deadline_is_met() -> None:
    clock = sla.respond(sla.start(DEFAULT_POLICY, 1, T0), at(1))
    assert clock.response_met is True


def test_a_pause_moves_the_resolution_deadline_by_the_time_paused() -> None:
    clock = sla.respond(sla.start(DEFAULT_POLICY, 1, T0), at(0.5))
    paused = sla.pause(clock, at(1))
    during = sla.evaluate(paused, CAL, at(3))
    assert during.paused
    assert during.resolution_due_at == at(6)  # the deadline if the clock resumed now
    resumed = sla.resume(paused, DEFAULT_POLICY, at(3))
    assert resumed.paused_seconds == 2 * 3600
    assert resumed.resolution_due_at == at(6)
    assert not sla.evaluate(resumed, CAL, at(6)).breached
    assert sla.evaluate(resumed, CAL, at(6) + timedelta(seconds=1)).breached


def test_a_ticket_paused_after_its_deadline_stays_breached() -> None:
    clock = sla.pause(sla.start(DEFAULT_POLICY, 1, T0), at(5))
    assert sla.evaluate(clock, CAL, at(9)).breached


def test_resolution_is_judged_at_the_instant_the_clock_stopped() -> None:
    clock = sla.start(DEFAULT_POLICY, 1, T0)
    waiting = sla.pause(clock, at(3))  # waiting on the customer from hour 3
    resolved = sla.resolve(waiting, at(10))  # resolved from that wait at hour 10
    assert resolved.resolution_met is True
    late = sla.resolve(sla.pause(clock, at(5)), at(5))
    assert late.resolution_met is False


def test_a_reopen_undoes_an_on_time_resolution_but_not_a_missed_one() -> None:
    clock = sla.start(DEFAULT_POLICY, 1, T0)
    on_time = sla.resolve(sla.pause(clock, at(2)), at(2))
    reopened = sla.reopen(on_time, DEFAULT_POLICY, at(30))
    assert reopened.resolution_met is None
    assert reopened.resolution_due_at == at(4 + 28)
    missed = sla.resolve(sla.pause(clock, at(6)), at(6))
    assert sla.reopen(missed, DEFAULT_POLICY, at(7)).resolution_met is False


def test_a_priority_change_recomputes_from_creation_keeping_paused_time() -> None:
    clock = sla.start(DEFAULT_POLICY, 3, T0)
    clock = sla.resume(sla.pause(clock, at(1)), DEFAULT_POLICY, at(11))  # 10 h paused
    raised = sla.reprioritize(clock, DEFAULT_POLICY, 1, at(12))
    assert raised.response_due_at == at(1)
    assert raised.resolution_due_at == at(4 + 10)
    # The response was due at hour 1 under the new target, and none came: missed.
    assert sla.evaluate(raised, CAL, at(12)).response_met is False


def test_a_policy_takes_targets_as_mappings_or_values() -> None:
    policy = SlaPolicy(
        targets={1: {"response": timedelta(minutes=15), "resolution": timedelta(hours=2)}}
    )
    assert policy.targets_for(1) == Targets(timedelta(minutes=15), timedelta(hours=2))
    assert policy.targets_for(4) == DEFAULT_POLICY.targets_for(4)
    with pytest.raises(ValueError, match="positive"):
        Targets(timedelta(0), timedelta(hours=1))


def test_an_on_time_resolution_stands_when_a_priority_change_moves_the_deadline() -> None:
    clock = sla.respond(sla.start(DEFAULT_POLICY, 3, T0), at(1))
    resolved = sla.resolve(sla.pause(clock, at(10)), at(10))
    raised = sla.reprioritize(resolved, DEFAULT_POLICY, 1, at(11))
    assert raised.resolution_due_at == at(4)
    view = sla.evaluate(raised, CAL, at(12))
    assert view.resolution_met is True
    assert not view.breached


def test_a_priority_change_that_moves_a_deadline_into_the_past_records_the_miss_at_once() -> None:
    clock = sla.start(DEFAULT_POLICY, 3, T0)
    raised = sla.reprioritize(clock, DEFAULT_POLICY, 1, at(5))
    assert raised.response_met is False
    assert raised.resolution_missed_at == at(4) + timedelta(seconds=1)
    kinds = [(kind, data["target"]) for kind, data in sla.audit(clock, raised) if "target" in data]
    assert kinds == [("sla_breached", "response"), ("sla_breached", "resolution")]
    relaxed = sla.reprioritize(raised, DEFAULT_POLICY, 4, at(6))
    assert relaxed.resolution_missed_at is None
    assert relaxed.response_met is False  # a decided response stands


def test_a_miss_recorded_before_a_pause_stands_after_the_pause_moves_the_deadline() -> None:
    from ayra_tickets.domain.calendar import BusinessCalendar

    office = BusinessCalendar(timezone="UTC", hours={"wed": "09:00-17:00", "thu": "09:00-17:00"})
    policy = SlaPolicy(
        targets={3: {"response": timedelta(minutes=30), "resolution": timedelta(minutes=90)}},
        calendar=office,
    )
    created = T0.replace(hour=15, minute=30)  # Wednesday 15:30; due Wednesday 17:00
    clock = sla.respond(sla.start(policy, 3, created), created)
    evening = T0.replace(hour=17, minute=30)
    waiting = sla.pause(sla.observe(clock, evening), evening)
    assert waiting.resolution_missed_at == T0.replace(hour=17, second=1)
    morning = T0.replace(day=16, hour=9, minute=30)
    back = sla.resume(waiting, policy, morning)
    assert back.resolution_due_at == morning  # 30 paused working minutes moved it
    assert sla.evaluate(back, office, morning).breached
    assert sla.resolve(back, morning).resolution_met is False
