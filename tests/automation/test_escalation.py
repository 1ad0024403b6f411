"""Escalation policies through the engine, on SQLite and PostgreSQL: each level fires
exactly at its instant (calendar time, and business time with a pause), once, never for
a ticket answered or resolved first, its actions in order with their events in the log;
breaches announced as their deadlines pass; several engines on one database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ayra_tickets import (
    AddTag,
    BusinessCalendar,
    Engine,
    EscalationLevel,
    ManualClock,
    Notify,
    RaisePriority,
    Reassign,
    SlaPolicy,
)
from ayra_tickets.domain.errors import ParameterInvalid
from ayra_tickets.domain.ticket import Ticket
from tests.backends import schema_address, table_counts
from tests.conftest import START

pytestmark = pytest.mark.both_backends

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def escalations(engine: Engine, ticket_id: str) -> list[tuple[int, int, str]]:
    """The ticket's ``escalated`` events: (version, level, action)."""
    return [
        (e.version, e.data["level"], e.data["action"])
        for e in engine.tickets.events(ticket_id)
        if e.type == "escalated" and e.data is not None
    ]


def fired_at(engine: Engine, clock: ManualClock, when: datetime) -> int:
    clock.set(when)
    return engine.run_due()["escalations"]


def level(on: str, after: Any, *actions: Any) -> EscalationLevel:
    return EscalationLevel(on=on, after=after, actions=list(actions) or [Notify("ticket.nudge")])


# -- exact to the second, on calendar time ---------------------------------------------


def test_a_level_fires_at_its_instant_to_the_second_and_once(
    engine: Engine, clock: ManualClock
) -> None:
    engine.escalations.configure(
        {3: [level("response_due", -timedelta(minutes=15), AddTag("at-risk"))]}
    )
    ticket = engine.tickets.create(subject="Printer", description="on fire")
    instant = START + timedelta(days=2) - timedelta(minutes=15)  # Normal: 2 days to respond
    assert fired_at(engine, clock, instant - SECOND) == 0
    assert engine.tickets.get(ticket.id).version == 1
    assert fired_at(engine, clock, instant) == 1
    assert fired_at(engine, clock, instant) == 0  # run again: nothing twice
    assert fired_at(engine, clock, instant + timedelta(days=30)) == 0
    after = engine.tickets.get(ticket.id)
    assert (after.version, after.tags) == (2, ("at-risk",))
    (event,) = [e for e in engine.tickets.events(ticket.id) if e.type == "escalated"]
    assert event.data == {
        "level": 1,
        "on": "response_due",
        "action": "add_tag",
        "deadline": "2025-01-17T09:00:00Z",
        "fire_at": "2025-01-17T08:45:00Z",
        "tag": "at-risk",
    }
    assert event.at == instant
    assert engine.check().clean


def test_a_fraction_of_the_target_fires_at_that_share_of_it(
    engine: Engine, clock: ManualClock
) -> None:
    engine.escalations.configure({1: [level("resolution_due", 0.75)]})
    ticket = engine.tickets.create(subject="Down", description="all of it", priority=1)
    instant = START + timedelta(hours=3)  # Critical: 4 hours to resolve
    assert fired_at(engine, clock, instant - SECOND) == 0
    assert fired_at(engine, clock, instant) == 1
    assert escalations(engine, ticket.id) == [(2, 1, "notify")]


# -- business time, with a pause -------------------------------------------------------

OFFICE = SlaPolicy(
    name="office",
    calendar=BusinessCalendar(
        hours={d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    ),
    targets={3: {"response": timedelta(hours=4), "resolution": timedelta(hours=16)}},
)


def test_on_a_business_calendar_levels_count_working_time_and_a_pause_moves_them(
    engine: Engine, clock: ManualClock
) -> None:
    engine.sla.configure(OFFICE)
    engine.escalations.configure(
        {
            3: [
                level("resolution_due", -timedelta(minutes=15), AddTag("at-risk")),
                level("resolution_due", -timedelta(hours=8, minutes=30), AddTag("half-way")),
                level("response_due", timedelta(0), AddTag("unanswered")),
            ]
        }
    )
    # Created Wednesday 09:00: resolution due after 16 working hours, Thursday 17:00.
    ticket = engine.tickets.create(subject="Invoice", description="wrong total")
    assert ticket.sla is not None
    assert ticket.sla.resolution_due_at == at("2025-01-16T17:00:00")
    clock.set(at("2025-01-15T10:00:00"))  # the answer, and a pause: 7 h on Wednesday ...
    engine.tickets.update(ticket.id, status="waiting_on_customer")
    # Unpaused, level 2 would fire at Wednesday 16:30; paused, nothing fires.
    assert fired_at(engine, clock, at("2025-01-15T16:30:00")) == 0
    assert fired_at(engine, clock, at("2025-01-16T09:59:00")) == 0
    clock.set(at("2025-01-16T10:00:00"))  # ... and 1 h on Thursday: 8 working hours
    resumed = engine.tickets.update(ticket.id, status="in_progress")
    assert resumed.sla is not None
    assert resumed.sla.resolution_due_at == at("2025-01-17T17:00:00")  # Friday 17:00
    # Level 2: 8.5 working hours before Friday 17:00 is Thursday 16:30 (over a night).
    assert fired_at(engine, clock, at("2025-01-16T16:29:59")) == 0
    assert fired_at(engine, clock, at("2025-01-16T16:30:00")) == 1
    # Level 1: 15 working minutes before the moved deadline.
    assert fired_at(engine, clock, at("2025-01-17T16:44:59")) == 0
    assert fired_at(engine, clock, at("2025-01-17T16:45:00")) == 1
    assert fired_at(engine, clock, at("2025-01-20T12:00:00")) == 0
    # The response level never fired: the pause was the answer, before its deadline.
    assert escalations(engine, ticket.id) == [(4, 2, "add_tag"), (5, 1, "add_tag")]
    events = [e for e in engine.tickets.events(ticket.id) if e.type == "escalated"]
    assert [e.data["deadline"] for e in events if e.data] == ["2025-01-17T17:00:00Z"] * 2
    assert engine.tickets.get(ticket.id).tags == ("half-way", "at-risk")
    assert engine.check().clean


# -- answered or resolved first --------------------------------------------------------


def test_a_response_level_never_fires_for_a_ticket_answered_first(
    engine: Engine, clock: ManualClock
) -> None:
    engine.escalations.configure({3: [level("response_due", timedelta(0))]})
    answered = engine.tickets.create(subject="A", description="answered")
    waiting = engine.tickets.create(subject="B", description="not answered")
    clock.set(START + timedelta(days=2) - SECOND)
    engine.tickets.update(answered.id, status="open")
    assert fired_at(engine, clock, START + timedelta(days=20)) == 1
    assert escalations(engine, answered.id) == []
    assert escalations(engine, waiting.id) == [(2, 1, "notify")]


def test_no_level_fires_for_a_ticket_resolved_first(engine: Engine, clock: ManualClock) -> None:
    engine.escalations.configure(
        {3: [level("response_due", timedelta(hours=1)), level("resolution_due", 0.5)]}
    )
    resolved = engine.tickets.create(subject="A", description="resolved at once")
    closed = engine.tickets.create(subject="B", description="closed at once")
    engine.tickets.update(resolved.id, status="resolved")
    engine.tickets.close(closed.id)
    assert fired_at(engine, clock, START + timedelta(days=60)) == 0
    assert escalations(engine, resolved.id) == escalations(engine, closed.id) == []


# -- actions in order ------------------------------------------------------------------


def test_a_levels_actions_apply_in_order_as_one_version_with_their_events_in_the_log(
    engine: Engine, clock: ManualClock
) -> None:
    engine.agents.add("agent_7", "Ada")
    engine.escalations.configure(
        {
            3: [
                level(
                    "response_due",
                    timedelta(0),
                    RaisePriority(),
                    AddTag("escalated"),
                    Reassign(agent="agent_7"),
                    Notify("ticket.at_risk"),
                )
            ]
        }
    )
    ticket = engine.tickets.create(subject="Refund", description="please", tags=["billing"])
    assert fired_at(engine, clock, START + timedelta(days=2)) == 1
    log = [e for e in engine.tickets.events(ticket.id) if e.version == 2]
    shown = [
        (e.type, e.field or (e.data or {}).get("action"))
        for e in log
        if e.type not in ("sla_applied", "sla_breached")
    ]
    assert shown == [
        ("escalated", "raise_priority"),
        ("field_changed", "priority"),
        ("escalated", "add_tag"),
        ("field_changed", "tags"),
        ("escalated", "reassign"),
        ("assigned", "assigned_to"),
        ("escalated", "notify"),
    ]
    assigned = next(e for e in log if e.type == "assigned")
    assert (assigned.old, assigned.new) == (None, "agent_7")
    assert assigned.data is not None
    assert assigned.data["strategy"] == "escalation"
    after = engine.tickets.get(ticket.id)
    assert (after.version, after.priority, after.tags) == (2, 2, ("billing", "escalated"))
    assert (after.assigned_to, after.assigned_name) == ("agent_7", "Ada")
    assert engine.check().clean


def test_a_raise_moves_the_ticket_to_the_higher_prioritys_levels_whose_passed_instants_fire_at_once(
    engine: Engine, clock: ManualClock
) -> None:
    engine.escalations.configure(
        {
            3: [level("response_due", -timedelta(days=1), RaisePriority())],
            # High: 8 hours to respond; passed already when the raise comes.
            2: [level("response_due", timedelta(0), RaisePriority())],
            1: [level("response_due", timedelta(0), RaisePriority())],
        }
    )
    ticket = engine.tickets.create(subject="Slow", description="getting worse")
    assert fired_at(engine, clock, START + timedelta(days=1)) == 3
    assert escalations(engine, ticket.id) == [
        (2, 1, "raise_priority"),
        (3, 1, "raise_priority"),
        (4, 1, "raise_priority"),
    ]
    last = [e for e in engine.tickets.events(ticket.id) if e.type == "escalated"][-1]
    assert last.data is not None
    assert (last.data["priority"], last.data["note"]) == (1, "already at the highest priority")
    assert engine.tickets.get(ticket.id).priority == 1
    assert fired_at(engine, clock, START + timedelta(days=30)) == 0


def test_a_reopen_starts_a_new_run_in_which_each_level_fires_once_more(
    engine: Engine, clock: ManualClock
) -> None:
    engine.escalations.configure({3: [level("resolution_due", timedelta(0))]})
    ticket = engine.tickets.create(subject="Again", description="and again")
    assert fired_at(engine, clock, START + timedelta(days=5)) == 1
    engine.tickets.update(ticket.id, status="resolved")
    engine.tickets.update(ticket.id, status="reopened")
    assert fired_at(engine, clock, START + timedelta(days=6)) == 1
    assert fired_at(engine, clock, START + timedelta(days=7)) == 0
    assert [lv for _, lv, _ in escalations(engine, ticket.id)] == [1, 1]


def test_a_reassign_to_a_group_hands_the_ticket_to_routing(
    engine: Engine, clock: ManualClock
) -> None:
    handed: list[tuple[str, str, str]] = []

    class StandIn:
        """Routing's hand-off, as the design gives it: writes the assignment itself."""

        def to_group(self, ticket: Ticket, group: str, now: datetime, why: str) -> Ticket:
            handed.append((ticket.id, group, why))
            return ticket

    engine.escalations.routing = StandIn()
    engine.escalations.configure(
        {3: [level("response_due", timedelta(0), Reassign(group="oncall"), AddTag("late"))]}
    )
    ticket = engine.tickets.create(subject="Pager", description="silent")
    assert fired_at(engine, clock, START + timedelta(days=2)) == 1
    assert handed == [(ticket.id, "oncall", "escalation: priority 3 level 1")]
    assert escalations(engine, ticket.id) == [(2, 1, "reassign"), (3, 1, "add_tag")]
    assert engine.check().clean


# -- breaches announced as their deadlines pass ----------------------------------------


def test_a_deadline_passing_untouched_is_announced_once_without_a_write(
    engine: Engine, clock: ManualClock
) -> None:
    told: list[tuple[str, str, str, Any]] = []
    engine._uow.announcers.append(
        lambda name, ticket, now, key, data: told.append((name, ticket.id, key, data))
    )
    ticket = engine.tickets.create(subject="Quiet", description="nobody looks", priority=1)
    due = START + timedelta(hours=1)
    fired_at(engine, clock, due)
    assert told == []
    fired_at(engine, clock, due + SECOND)
    fired_at(engine, clock, due + timedelta(hours=2))
    assert told == [
        (
            "sla.breached",
            ticket.id,
            f"{ticket.id}:response:2025-01-15T10:00:00Z",
            {"target": "response", "due_at": "2025-01-15T10:00:00Z"},
        )
    ]
    assert engine.tickets.get(ticket.id).version == 1  # If-Match still holds
    fired_at(engine, clock, START + timedelta(hours=4))
    assert len(told) == 1
    fired_at(engine, clock, START + timedelta(hours=4, seconds=1))
    assert told[-1][2] == f"{ticket.id}:resolution:2025-01-15T13:00:00Z"
    assert len(told) == 2


# -- configuration ---------------------------------------------------------------------


def test_a_policy_configured_later_retimes_the_open_tickets(
    engine: Engine, clock: ManualClock
) -> None:
    ticket = engine.tickets.create(subject="Old", description="before the policy")
    engine.escalations.configure({3: [level("response_due", timedelta(0))]})
    assert fired_at(engine, clock, START + timedelta(days=2)) == 1
    assert escalations(engine, ticket.id) == [(2, 1, "notify")]


@pytest.fixture
def address(engine: Engine, backend: str, request: pytest.FixtureRequest) -> str:
    """The address of the ``engine`` fixture's database (with its password)."""
    if backend == "postgres":
        return schema_address(
            request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        )
    return str(request.getfixturevalue("db_path"))


def test_another_engine_on_the_database_sees_the_policy_and_fires_nothing_twice(
    engine: Engine, clock: ManualClock, address: str
) -> None:
    with Engine.open(address, clock=clock) as second:
        assert second.escalations.policy == {}
        policy = {3: (level("response_due", timedelta(0), AddTag("late")),)}
        engine.escalations.configure(policy)
        assert second.escalations.policy == policy
        tickets = [engine.tickets.create(subject=f"T{n}", description="d") for n in range(6)]
        clock.set(START + timedelta(days=2))
        barrier = threading.Barrier(2)
        done: list[int] = []

        def run(on: Engine) -> None:
            barrier.wait()
            done.append(on.run_due()["escalations"])

        threads = [threading.Thread(target=run, args=(e,)) for e in (engine, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(done) == 6
        for ticket in tickets:
            assert escalations(engine, ticket.id) == [(2, 1, "add_tag")]
        engine.escalations.configure({})
        assert second.escalations.policy == {}


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        ({5: []}, "a priority is 1, 2, 3 or 4"),
        ({3: "fast"}, "levels must be a list"),
        ({3: [{"on": "response_due"}]}, "must be an EscalationLevel"),
        ([], "mapping of priority to levels"),
        ({3: [level("response_due", timedelta(0), Reassign(agent="nobody"))]}, "nobody"),
    ],
)
def test_a_bad_policy_is_refused_whole_and_changes_nothing(
    engine: Engine, policy: Any, says: str
) -> None:
    kept = {2: (level("resolution_due", 0.5),)}
    engine.escalations.configure(kept)
    before = table_counts(engine)
    with pytest.raises(ParameterInvalid, match=says):
        engine.escalations.configure(policy)
    assert table_counts(engine) == before
    assert engine.escalations.policy == kept


# -- failures, kills and repeats -------------------------------------------------------


def test_a_level_that_fails_midway_leaves_no_trace_and_fires_whole_at_the_next_run(
    engine: Engine, clock: ManualClock
) -> None:
    failures = [RuntimeError("the pager is down")]

    class Flaky:
        def to_group(self, ticket: Ticket, group: str, now: datetime, why: str) -> Ticket:
            if failures:
                raise failures.pop()
            return ticket

    engine.escalations.routing = Flaky()
    flaky = engine.tickets.create(subject="Flaky", description="first in line")
    steady = engine.tickets.create(subject="Steady", description="second in line", priority=2)
    engine.escalations.configure(
        {
            3: [level("response_due", timedelta(0), AddTag("late"), Reassign(group="oncall"))],
            2: [level("response_due", timedelta(0), AddTag("late"))],
        }
    )
    assert fired_at(engine, clock, START + timedelta(days=2)) == 1  # the other one still fires
    assert escalations(engine, flaky.id) == []
    assert engine.tickets.get(flaky.id).version == 1  # the tag's version rolled back too
    assert escalations(engine, steady.id) == [(2, 1, "add_tag")]
    assert fired_at(engine, clock, START + timedelta(days=2, seconds=1)) == 1
    assert escalations(engine, flaky.id) == [(2, 1, "add_tag"), (2, 1, "reassign")]
    assert engine.check().clean


KILLED = """
import os, signal, sys
from datetime import datetime, timedelta, UTC
from ayra_tickets import AddTag, Engine, EscalationLevel, ManualClock, Reassign

class Killer:
    def to_group(self, ticket, group, now, why):
        os.kill(os.getpid(), signal.SIGKILL)  # midway through the level's transaction

engine = Engine.open(sys.argv[1], clock=ManualClock(datetime(2025, 1, 17, 9, tzinfo=UTC)))
engine.escalations.routing = Killer()
engine.run_due()
"""


def test_a_process_killed_while_firing_leaves_the_level_to_fire_once_after(
    engine: Engine, clock: ManualClock, address: str, tmp_path: Any
) -> None:
    import subprocess
    import sys

    engine.escalations.routing = type("Router", (), {"to_group": lambda s, t, g, n, w: t})()
    engine.escalations.configure(
        {3: [level("response_due", timedelta(0), AddTag("late"), Reassign(group="oncall"))]}
    )
    ticket = engine.tickets.create(subject="Killed", description="midway")
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    killed = subprocess.run([sys.executable, str(script), address], check=False)
    assert killed.returncode == -9
    assert escalations(engine, ticket.id) == []
    assert fired_at(engine, clock, START + timedelta(days=2)) == 1
    assert fired_at(engine, clock, START + timedelta(days=3)) == 0
    assert escalations(engine, ticket.id) == [(2, 1, "add_tag"), (2, 1, "reassign")]
    assert engine.tickets.get(ticket.id).tags == ("late",)
    assert engine.check().clean


def test_a_reset_forgets_the_policy_and_the_timers(engine: Engine, clock: ManualClock) -> None:
    engine.escalations.configure({3: [level("response_due", timedelta(0))]})
    engine.tickets.create(subject="Gone", description="soon")
    engine.reset()
    assert engine.escalations.policy == {}
    assert fired_at(engine, clock, START + timedelta(days=3)) == 0
    engine.tickets.create(subject="New", description="after the reset")
    assert fired_at(engine, clock, START + timedelta(days=9)) == 0


def test_a_copy_escalates_as_its_source_would_have(
    engine: Engine, clock: ManualClock, address: str, tmp_path: Any
) -> None:
    from ayra_tickets.transfer import copy_database

    policy = {
        3: (
            level("response_due", -timedelta(hours=1), AddTag("soon")),
            level("resolution_due", timedelta(0), AddTag("late")),
        )
    }
    engine.escalations.configure(policy)
    ticket = engine.tickets.create(subject="Copied", description="half escalated")
    assert fired_at(engine, clock, START + timedelta(days=2)) == 1
    target = str(tmp_path / "copy.db")
    assert copy_database(address, target, clock=clock).identical
    with Engine.open(target, clock=clock) as copied:
        assert copied.escalations.policy == policy
        assert fired_at(copied, clock, START + timedelta(days=2, hours=1)) == 0  # fired once
        assert fired_at(copied, clock, START + timedelta(days=5)) == 1
        assert escalations(copied, ticket.id) == [(2, 1, "add_tag"), (3, 2, "add_tag")]


def test_tickets_that_keep_failing_hold_up_no_others_however_many_batches_they_fill(
    engine: Engine, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ayra_tickets.escalation.BATCH", 2)
    broken: set[str] = set()

    class Broken:
        def to_group(self, ticket: Ticket, group: str, now: datetime, why: str) -> Ticket:
            if ticket.id in broken:
                raise RuntimeError("this one always fails")
            return ticket

    engine.escalations.routing = Broken()
    engine.escalations.configure(
        {3: [level("response_due", timedelta(0), Reassign(group="oncall"))]}
    )
    made = [engine.tickets.create(subject=f"T{n}", description="d") for n in range(7)]
    broken.update(ticket.id for ticket in made[:4])  # the first two batches' worth
    assert fired_at(engine, clock, START + timedelta(days=2)) == 3
    assert [bool(escalations(engine, t.id)) for t in made] == [False] * 4 + [True] * 3
    broken.clear()
    assert fired_at(engine, clock, START + timedelta(days=2, seconds=1)) == 4


def test_a_policy_configured_later_announces_no_breach_of_before_it(
    engine: Engine, clock: ManualClock
) -> None:
    told: list[str] = []
    engine._uow.announcers.append(lambda name, ticket, now, key, data: told.append(key))
    engine.tickets.import_many([{"subject": "Old", "description": "imported", "priority": 1}])
    (old,) = engine.tickets.list().data
    clock.set(START + timedelta(hours=2))  # its response deadline has passed, untold
    engine.escalations.configure({4: [level("response_due", timedelta(0))]})
    fired_at(engine, clock, START + timedelta(hours=3))
    assert told == []
    fired_at(engine, clock, START + timedelta(hours=4, seconds=1))
    assert told == [f"{old.id}:resolution:2025-01-15T13:00:00Z"]


def test_a_notify_and_a_breach_nobody_wrote_become_webhook_deliveries_once(
    engine: Engine, clock: ManualClock
) -> None:
    engine.webhooks.subscribe(
        "http://127.0.0.1:9/hook", events=["ticket.at_risk", "sla.breached", "ticket.escalated"]
    )
    engine.escalations.configure(
        {1: [level("response_due", -timedelta(minutes=15), Notify("ticket.at_risk"))]}
    )
    ticket = engine.tickets.create(subject="Watched", description="by a receiver", priority=1)
    for minutes in (45, 61, 62, 120):
        clock.set(START + timedelta(minutes=minutes))
        engine.run_due()
    sent = sorted(d.to_dict()["event"] for d in engine.webhooks.deliveries())
    assert sent == ["sla.breached", "ticket.at_risk", "ticket.escalated"]
    assert engine.tickets.get(ticket.id).version == 2  # the level's; the breach wrote none
