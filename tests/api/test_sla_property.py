"""The ``sla`` object against an independent model of the SLA rules, on random histories.

The real engine (a SQLite file) and a model are driven side by side through random
ticket histories: creations in every priority (some answered at creation), the moves of
the contract's lifecycle table, closes through the close endpoint or the Python API,
reopens, priority changes, and clock advances from a minute to days that often land
exactly on, or a minute either side of, a deadline. After every step, every ticket's
``sla`` object must equal the model's, and the SLA events the step wrote must agree with
the model. It runs twice: the default policy round the clock, and a random policy on a
random business calendar (often starting near a clock change).

The model keeps, per ticket, only its creation time and its history (status moves and
priority changes, in order, each with its instant); it derives the status intervals, the
paused working time, the deadlines and the decisions from that history alone. Working
time is counted with the minute-by-minute oracle of ``tests.oracles`` (memoized, and
checked against the plain walk below) on a business calendar, and by subtraction round
the clock; nothing from ``ayra_tickets.domain.sla`` or the calendar's arithmetic is used.
Targets and clock steps are whole minutes, so the minute oracle is exact. The rules, as
the model reads them from the contract and ``ayra_tickets/domain/sla.py``:

- the first response is the first move out of ``new``, or the creation for a ticket
  created ``open`` or ``in_progress``; the response deadline is the creation time plus
  the response target in working time;
- ``response_met`` is null until the first response or the deadline passing, whichever
  comes first, then final (true when the response came at or before the deadline);
- the resolution clock stands still in ``waiting_on_customer``,
  ``waiting_on_third_party``, ``resolved`` and ``closed``, and runs elsewhere;
- the resolution deadline is the creation time plus the resolution target plus all the
  completed paused working time; while paused, ``resolution_due_at`` is the deadline if
  the clock resumed now (the current pause counted up to now);
- ``resolution_met`` is decided when the ticket is resolved or closed, judged at the
  instant the clock stopped (the start of the pause, when it was already paused) against
  the deadline of that instant; it goes back to null on a reopen unless it was false;
  a decision, once made, stands, under later priority changes too;
- ``breached``: the response is missed, or the resolution is missed (decided false; or
  undecided and running past the deadline; or undecided and paused since after the
  deadline; or undecided with a miss recorded);
- a resolution miss is recorded at any change of the ticket that finds it missed, and
  stands: a later resolution is judged missed, whatever paused time moved the deadline
  since; a priority change judges the recorded miss afresh against its new deadline;
- a priority change recomputes both deadlines from the creation time with the new
  targets, keeping the paused time, but a response already decided keeps its deadline
  (a new response deadline already behind decides the response as missed there and then);
- after close the whole object is frozen (read at ``closed_at``); a deadline is missed
  when the time is strictly after it.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ayra_tickets import BusinessCalendar, Engine, Event, ManualClock, SlaPolicy, TicketError
from tests import contract
from tests import strategies as s
from tests.backends import fresh_engine
from tests.conftest import START
from tests.oracles import MINUTE, is_working_minute, oracle_add, oracle_between

PAUSED = contract.PAUSED
ALLOWED_MOVES = contract.TRANSITIONS
MAX_TICKETS = 4

# -- working time -------------------------------------------------------------------------


class Measure(Protocol):
    def add(self, start: datetime, minutes: int) -> datetime: ...

    def between(self, start: datetime, end: datetime) -> int: ...


def whole_minutes(delta: timedelta) -> int:
    assert delta % MINUTE == timedelta(0), f"not a whole number of minutes: {delta}"
    return delta // MINUTE


class RoundTheClock:
    """Calendar time: every minute works."""

    def add(self, start: datetime, minutes: int) -> datetime:
        return start + minutes * MINUTE

    def between(self, start: datetime, end: datetime) -> int:
        return max(0, whole_minutes(end - start))


class WorkingMinutes:
    """The oracle's minute walk, memoized: ``counts[i]`` is the number of working minutes
    (by :func:`tests.oracles.is_working_minute`) in the first ``i`` minutes after
    ``origin``. Adding and measuring are then a lookup and a bisection."""

    LIMIT = 400 * 1440  # a walk this long means a test bug, not a slow calendar

    def __init__(self, calendar: BusinessCalendar, origin: datetime) -> None:
        self.calendar = calendar
        self.origin = origin
        self.counts = [0]

    def _index(self, instant: datetime) -> int:
        index = whole_minutes(instant - self.origin)
        assert index >= 0, f"{instant} is before the walk's origin {self.origin}"
        return index

    def _extend(self, length: int) -> None:
        counts, calendar = self.counts, self.calendar
        assert length <= self.LIMIT, "the minute walk ran away"
        while len(counts) <= length:
            instant = self.origin + (len(counts) - 1) * MINUTE
            counts.append(counts[-1] + is_working_minute(calendar, instant))

    def add(self, start: datetime, minutes: int) -> datetime:
        if minutes == 0:
            return start
        first = self._index(start)
        self._extend(first)
        goal = self.counts[first] + minutes
        while self.counts[-1] < goal:
            self._extend(len(self.counts) + 1440)
        return self.origin + bisect.bisect_left(self.counts, goal, lo=first) * MINUTE

    def between(self, start: datetime, end: datetime) -> int:
        if end <= start:
            return 0
        first, last = self._index(start), self._index(end)
        self._extend(last)
        return self.counts[last] - self.counts[first]


@dataclass(frozen=True)
class ModelPolicy:
    name: str
    targets: dict[int, tuple[int, int]]  # priority -> (response, resolution) in minutes
    measure: Measure


# -- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One change in a ticket's history: a status move or a priority change."""

    at: datetime
    kind: str  # "status" or "priority"
    value: Any


@dataclass
class ModelTicket:
    id: str
    number: int
    created_at: datetime
    status: str  # as created
    priority: int  # as created
    history: list[Step] = field(default_factory=list)

    @property
    def current_status(self) -> str:
        moves = [step.value for step in self.history if step.kind == "status"]
        return moves[-1] if moves else self.status

    @property
    def current_priority(self) -> int:
        changes = [step.value for step in self.history if step.kind == "priority"]
        return changes[-1] if changes else self.priority

    def read_at(self, now: datetime) -> datetime:
        """The instant the ``sla`` object is read at: ``now``, or the close if closed."""
        if self.current_status == "closed":
            return [step.at for step in self.history if step.kind == "status"][-1]
        return now


Interval = list[Any]  # [status, start, end or None]


def paused_minutes(measure: Measure, intervals: list[Interval], until: datetime) -> int:
    """Working minutes spent in paused statuses before ``until``."""
    return sum(
        measure.between(start, until if end is None else min(end, until))
        for status, start, end in intervals
        if status in PAUSED and start < until
    )


def pause_start(intervals: list[Interval]) -> datetime | None:
    """When the current run of paused statuses began; None when the clock runs."""
    began = None
    for status, start, _ in intervals:
        if status not in PAUSED:
            began = None
        elif began is None:
            began = start
    return began


@dataclass(frozen=True)
class Judgement:
    """What the rules say of a ticket at one instant, and a few quantities behind it."""

    policy: str
    response_due: datetime
    response_decided: bool | None  # by the response, or at a step once the deadline passed
    response_met: bool | None  # as shown: also false once the deadline has passed
    resolution_target: int
    resolution_due: datetime  # as shown: while paused, if the clock resumed now
    resolution_due_held: datetime  # the deadline as of the pause start, when paused
    resolution_met: bool | None
    resolution_missed: bool
    stopped_at: datetime | None  # when the current pause began; None while the clock runs
    paused_minutes: int

    @property
    def paused(self) -> bool:
        return self.stopped_at is not None

    def sla(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "response_due_at": fmt(self.response_due),
            "resolution_due_at": fmt(self.resolution_due),
            "response_met": self.response_met,
            "resolution_met": self.resolution_met,
            "breached": self.response_met is False or self.resolution_missed,
            "paused": self.paused,
        }


def fmt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def judge(ticket: ModelTicket, policy: ModelPolicy, now: datetime) -> Judgement:
    """The rules applied to the ticket's whole history, read at ``now`` (or its close)."""
    measure, created = policy.measure, ticket.created_at
    instant = ticket.read_at(now)
    priority = ticket.priority
    response_due = measure.add(created, policy.targets[priority][0])
    response: bool | None = None if ticket.status == "new" else True
    resolution: bool | None = None
    intervals: list[Interval] = [[ticket.status, created, None]]

    def resolution_deadline(before: datetime) -> datetime:
        """The deadline with the current target and the paused time before ``before``."""
        paused = paused_minutes(measure, intervals, before)
        return measure.add(created, policy.targets[priority][1] + paused)

    recorded = False  # a resolution miss found by a change of the ticket

    def missed_at(instant: datetime) -> bool:
        """Whether the undecided resolution is past its deadline at ``instant``."""
        stopped = pause_start(intervals)
        if stopped is None:
            return instant > resolution_deadline(instant)
        return stopped > resolution_deadline(stopped)

    for step in ticket.history:
        if response is None and step.at > response_due:
            response = False  # the deadline passed before this step
        if resolution is None and missed_at(step.at):
            recorded = True
        if step.kind == "priority":
            priority = step.value
            if response is None:
                response_due = measure.add(created, policy.targets[priority][0])
                if step.at > response_due:
                    response = False  # the new deadline has already passed
            if resolution is None:
                recorded = missed_at(step.at)  # judged afresh against the new deadline
            continue
        if response is None:
            response = step.at <= response_due  # the first move out of new
        intervals[-1][2] = step.at
        intervals.append([step.value, step.at, None])
        if step.value in ("resolved", "closed") and resolution is None:
            stopped = pause_start(intervals)
            assert stopped is not None
            resolution = stopped <= resolution_deadline(stopped) and not recorded
            recorded = recorded or not resolution
        elif step.value == "reopened" and resolution is True:
            resolution = None
            recorded = False

    stopped = pause_start(intervals)
    due = resolution_deadline(instant)
    held = due if stopped is None else resolution_deadline(stopped)
    if resolution is not None:
        missed = not resolution
    elif recorded:
        missed = True
    elif stopped is None:
        missed = instant > due
    else:
        missed = stopped > held
    return Judgement(
        policy=policy.name,
        response_due=response_due,
        response_decided=response,
        response_met=False if response is None and instant > response_due else response,
        resolution_target=policy.targets[priority][1],
        resolution_due=due,
        resolution_due_held=held,
        resolution_met=resolution,
        resolution_missed=missed,
        stopped_at=stopped,
        paused_minutes=paused_minutes(measure, intervals, instant),
    )


def check_sla_events(
    events: list[Event], before: Judgement | None, after: Judgement, log: list[Event]
) -> None:
    """The SLA events one step wrote, against the model before and after the step.

    ``sla_applied`` when targets were set or changed; ``sla_paused``/``sla_resumed`` when
    the clock stopped or started; ``sla_fulfilled``/``sla_breached`` naming the target and
    the deadline it was held to when a decision was made. A resolution breach is
    recorded when the model says it was missed just before the step or just after it,
    and a resolution decided as missed has had its breach recorded by then.
    """
    sla = [e for e in events if e.type.startswith("sla_")]
    note(f"SLA events: {[(e.type, e.data) for e in sla]}")

    def of(kind: str, target: str | None = None) -> list[dict[str, Any]]:
        return [
            dict(e.data or {})
            for e in sla
            if e.type == kind and (target is None or (e.data or {}).get("target") == target)
        ]

    held = fmt(after.resolution_due_held)
    applied = before is None or (before.response_due, before.resolution_target) != (
        after.response_due,
        after.resolution_target,
    )
    assert of("sla_applied") == [
        {"policy": after.policy, "response_due_at": fmt(after.response_due), "resolution_due_at": held}
    ] * applied  # fmt: skip

    was_paused = before is not None and before.paused
    assert of("sla_paused") == [{"resolution_due_at": held}] * (after.paused and not was_paused)
    resumed = {"paused_seconds": after.paused_minutes * 60, "resolution_due_at": held}
    assert of("sla_resumed") == [resumed] * (was_paused and not after.paused)

    responded = (before is None or before.response_decided is None) and (
        after.response_decided is not None
    )
    due = {"target": "response", "due_at": fmt(after.response_due)}
    assert of("sla_fulfilled", "response") == [due] * (responded and after.response_decided is True)
    assert of("sla_breached", "response") == [due] * (responded and after.response_decided is False)

    decided = before is None or before.resolution_met is None
    due = {"target": "resolution", "due_at": held}
    assert of("sla_fulfilled", "resolution") == [due] * (decided and after.resolution_met is True)
    breaches = of("sla_breached", "resolution")
    assert breaches in ([], [due])
    if breaches:
        assert after.resolution_missed or (before is not None and before.resolution_missed)
    if decided and after.resolution_met is False:
        assert any(
            e.type == "sla_breached" and (e.data or {}).get("target") == "resolution" for e in log
        ), "a missed resolution was decided without its breach on record"


def count_boundaries(step: Step, before: Judgement, after: Judgement) -> None:
    """Statistics (``--hypothesis-show-statistics``): how often a decision fell on the
    edge of its deadline."""
    if before.response_decided is None and after.response_decided is not None:
        event(f"response decided {edge(step.at, after.response_due)}")
    if before.resolution_met is None and after.resolution_met is not None:
        stopped = before.stopped_at or step.at
        event(
            f"resolution decided {edge(stopped, after.resolution_due_held)}, paused: {before.paused}"
        )


def edge(instant: datetime, deadline: datetime) -> str:
    minutes = whole_minutes(instant - deadline)
    return {-1: "a minute before", 0: "at", 1: "a minute after"}.get(
        minutes, "before" if minutes < 0 else "after"
    ) + " its deadline"


# -- the machine ----------------------------------------------------------------------------

minute_steps = st.one_of(
    st.integers(1, 59),
    st.integers(1, 48).map(lambda hours: 60 * hours),
    st.integers(1, 3).map(lambda days: 1440 * days),
)
"""Clock advances in whole minutes: a minute to three days."""

VIA_WIRE = st.booleans()


class SlaHistories(RuleBasedStateMachine):
    """Random ticket histories on the real engine, each step checked against the model.

    Subclasses open the engine under a policy in an ``initialize`` rule."""

    def __init__(self, server: str | None = None) -> None:
        """On a SQLite file; or, given a PostgreSQL ``server`` (its URL), on a new schema
        of its database, dropped at the end."""
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="ayra-sla-")
        self.server = server
        self.held = contextlib.ExitStack()
        self.tickets: dict[int, ModelTicket] = {}
        self.engine: Engine | None = None

    def open(self, start: datetime, policy: ModelPolicy) -> Engine:
        note(f"start {start}, policy {policy.name}: {policy.targets}")
        self.policy = policy
        self.clock = ManualClock(start)
        if self.server is None:
            self.engine = Engine.open(f"{self.directory}/tickets.db", clock=self.clock)
        else:
            self.engine = self.held.enter_context(fresh_engine(self.server, self.clock))
        key = self.engine.keys.create(scopes=["tickets:read", "tickets:write"])
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        return self.engine

    def teardown(self) -> None:
        if self.engine is not None:
            self.engine.close()
        self.held.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def judge(self, ticket: ModelTicket) -> Judgement:
        return judge(ticket, self.policy, self.now())

    def call(self, method: str, path: str, body: dict[str, Any], via_wire: bool) -> dict[str, Any]:
        """A write through ``engine.request`` or the Python API: the ticket's JSON."""
        assert self.engine is not None
        note(f"{method} {path} {body} via {'wire' if via_wire else 'python'} at {self.now()}")
        if via_wire:
            response = self.engine.request(method, path, headers=self.headers, json=body)
            assert response.status in (200, 201), response.json
            return response.json["data"]  # type: ignore[no-any-return]
        tickets, parts = self.engine.tickets, path.split("/")
        if method == "POST":
            return tickets.create(**body).to_dict()
        if parts[-1] == "close":
            return tickets.close(parts[3], **body).to_dict()
        return tickets.update(parts[3], **body).to_dict()

    def change(self, ticket: ModelTicket, step: Step, via_wire: bool, endpoint: str = "") -> None:
        """Apply one step to the engine and the model, then check the answer and events."""
        assert self.engine is not None
        before = self.judge(ticket)
        path = f"/v1/tickets/{ticket.id}"
        if endpoint == "close":
            answer = self.call("PUT", f"{path}/close", {}, via_wire)
        else:
            answer = self.call("PUT", path, {step.kind: step.value}, via_wire)
        ticket.history.append(step)
        after = self.judge(ticket)
        count_boundaries(step, before, after)
        assert answer["sla"] == after.sla()
        log = self.engine.tickets.events(ticket.id)
        check_sla_events([e for e in log if e.version == answer["version"]], before, after, log)

    def pick(self, data: st.DataObject, statuses: set[str]) -> ModelTicket:
        numbers = [n for n, t in self.tickets.items() if t.current_status in statuses]
        return self.tickets[data.draw(st.sampled_from(numbers), label="ticket number")]

    def has(self, statuses: set[str]) -> bool:
        return any(t.current_status in statuses for t in self.tickets.values())

    def deadlines(self) -> list[tuple[datetime, int]]:
        """The deadlines still ahead (or a minute ago) whose passing would decide or
        breach something, with their tickets' numbers."""
        now, found = self.now(), set()
        for number, ticket in self.tickets.items():
            if ticket.current_status == "closed":
                continue
            judged = self.judge(ticket)
            if judged.response_decided is None:
                found.add((judged.response_due, number))
            if judged.resolution_met is None and not judged.paused:
                found.add((judged.resolution_due, number))
        return sorted((due, number) for due, number in found if due + MINUTE >= now)

    # -- rules --------------------------------------------------------------------------

    @precondition(lambda self: len(self.tickets) < MAX_TICKETS)
    @rule(
        priority=s.priorities,
        status=st.sampled_from([None, "new", "open", "in_progress"]),
        via_wire=VIA_WIRE,
    )
    def create(self, priority: int, status: str | None, via_wire: bool) -> None:
        """A ticket in any priority; left ``new`` (by default or said), or answered at
        creation (``open``, ``in_progress``)."""
        assert self.engine is not None
        body: dict[str, Any] = {"subject": "printer", "description": "fire", "priority": priority}
        if status is not None:
            body["status"] = status
        answer = self.call("POST", "/v1/tickets", body, via_wire)
        number = len(self.tickets) + 1
        ticket = ModelTicket(answer["id"], number, self.now(), status or "new", priority)
        self.tickets[number] = ticket
        after = self.judge(ticket)
        assert answer["sla"] == after.sla()
        log = self.engine.tickets.events(ticket.id)
        check_sla_events(log, None, after, log)

    @precondition(lambda self: bool(self.tickets))
    @rule(data=st.data(), via_wire=VIA_WIRE)
    def move(self, data: st.DataObject, via_wire: bool) -> None:
        """Any move of the lifecycle table: closing and reopening included."""
        ticket = self.pick(data, set(ALLOWED_MOVES))
        target = data.draw(
            st.sampled_from(sorted(ALLOWED_MOVES[ticket.current_status])), label="target"
        )
        self.change(ticket, Step(self.now(), "status", target), via_wire)

    @precondition(lambda self: self.has(set(ALLOWED_MOVES) - {"closed"}))
    @rule(data=st.data(), via_wire=VIA_WIRE)
    def close(self, data: st.DataObject, via_wire: bool) -> None:
        """The close endpoint (``PUT .../close``) or ``engine.tickets.close``."""
        ticket = self.pick(data, set(ALLOWED_MOVES) - {"closed"})
        self.change(ticket, Step(self.now(), "status", "closed"), via_wire, endpoint="close")

    @precondition(lambda self: self.has(set(ALLOWED_MOVES) - {"closed"}))
    @rule(data=st.data(), via_wire=VIA_WIRE)
    def reprioritize(self, data: st.DataObject, via_wire: bool) -> None:
        ticket = self.pick(data, set(ALLOWED_MOVES) - {"closed"})
        others = sorted({1, 2, 3, 4} - {ticket.current_priority})
        priority = data.draw(st.sampled_from(others), label="new priority")
        self.change(ticket, Step(self.now(), "priority", priority), via_wire)

    @precondition(lambda self: self.has({"closed"}))
    @rule(data=st.data(), what=st.sampled_from(["priority", "close"]))
    def a_closed_ticket_refuses_changes(self, data: st.DataObject, what: str) -> None:
        """Refused calls leave the frozen ``sla`` object as it was (the invariant checks)."""
        ticket = self.pick(data, {"closed"})
        assert self.engine is not None
        tickets = self.engine.tickets
        if what == "priority":
            refused = functools.partial(tickets.update, priority=5 - ticket.current_priority)
        else:
            refused = tickets.close
        with pytest.raises(TicketError) as error:
            refused(ticket.id)
        assert error.value.status == 409

    @rule(data=st.data(), to_a_deadline=st.booleans(), then_move=st.booleans(), via_wire=VIA_WIRE)
    def advance(
        self, data: st.DataObject, to_a_deadline: bool, then_move: bool, via_wire: bool
    ) -> None:
        """Move the clock on by whole minutes; or exactly onto a deadline, or a minute
        before or after it, then maybe move that deadline's ticket right there."""
        deadlines = self.deadlines()
        if not (to_a_deadline and deadlines):
            self.clock.advance(minutes=data.draw(minute_steps, label="minutes"))
            return
        deadline, number = data.draw(st.sampled_from(deadlines), label="deadline")
        offset = data.draw(st.sampled_from([0, 0, 1, 1, -1]), label="minutes past it")
        self.clock.set(max(self.now(), deadline + offset * MINUTE))
        if then_move:
            ticket = self.tickets[number]
            moves = sorted(ALLOWED_MOVES[ticket.current_status])
            target = data.draw(st.sampled_from(moves), label="target")
            self.change(ticket, Step(self.now(), "status", target), via_wire)

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def every_ticket_shows_the_models_sla(self) -> None:
        if self.engine is None:
            return
        breached = set()
        for ticket in self.tickets.values():
            expected = self.judge(ticket).sla()
            assert self.engine.tickets.get(ticket.id).to_dict()["sla"] == expected, ticket
            if expected["breached"]:
                breached.add(ticket.id)
        # The list filter, answered in SQL from stored breach instants, says the same.
        listed = self.engine.tickets.list(sla_breach=True, per_page=100).data
        assert {t.id for t in listed} == breached


starts = st.one_of(st.just(START), s.instants_near_clock_changes())


class RoundTheClockHistories(SlaHistories):
    """The default policy: the contract's targets in calendar time."""

    @initialize(start=starts)
    def open_with_the_default_policy(self, start: datetime) -> None:
        targets = {
            priority: (whole_minutes(response), whole_minutes(resolution))
            for priority, (response, resolution) in contract.DEFAULT_TARGETS.items()
        }
        self.open(start, ModelPolicy("default", targets, RoundTheClock()))


class BusinessHoursHistories(SlaHistories):
    """A configured policy: random whole-minute targets on a random business calendar."""

    @initialize(start=starts, drawn=s.business_sla_policies())
    def open_with_a_business_policy(
        self, start: datetime, drawn: tuple[dict[str, Any], dict[int, tuple[int, int]]]
    ) -> None:
        spec, targets = drawn
        note(f"calendar {spec}")
        calendar = BusinessCalendar(**spec)
        engine = self.open(start, ModelPolicy("business", targets, WorkingMinutes(calendar, start)))
        engine.sla.configure(
            SlaPolicy(
                targets={
                    priority: {
                        "response": timedelta(minutes=response),
                        "resolution": timedelta(minutes=resolution),
                    }
                    for priority, (response, resolution) in targets.items()
                },
                calendar=BusinessCalendar(**spec),
                name="business",
            )
        )


TestEverySlaObjectFollowsTheRulesRoundTheClock = RoundTheClockHistories.TestCase
TestEverySlaObjectFollowsTheRulesRoundTheClock.settings = settings(
    max_examples=200, stateful_step_count=50
)
TestEverySlaObjectFollowsTheRulesOnABusinessCalendar = BusinessHoursHistories.TestCase
TestEverySlaObjectFollowsTheRulesOnABusinessCalendar.settings = settings(
    max_examples=150, stateful_step_count=50
)

POSTGRES_EXAMPLES = 15
"""The histories on PostgreSQL: fewer (each opens a schema); the SQLite runs explore the
rules, these check that the storage keeps the clocks and answers the same."""


@pytest.mark.parametrize("histories", [RoundTheClockHistories, BusinessHoursHistories])
def test_every_sla_object_follows_the_rules_on_postgres(
    postgres_server: str, histories: type[SlaHistories]
) -> None:
    run_state_machine_as_test(
        lambda: histories(postgres_server),
        settings=settings(max_examples=POSTGRES_EXAMPLES, stateful_step_count=30),
    )


# -- the model's own footing ----------------------------------------------------------------


@settings(max_examples=40)
@given(s.business_calendars(), s.instants_near_clock_changes(), st.data())
def test_the_models_memoized_minute_walk_is_the_oracles_walk(
    spec: dict[str, Any], start: datetime, data: st.DataObject
) -> None:
    calendar = BusinessCalendar(**spec)
    walk = WorkingMinutes(calendar, start - 1440 * MINUTE)
    minutes = data.draw(st.integers(0, min(600, 2 * s.weekly_working_minutes(spec))))
    assert walk.add(start, minutes) == oracle_add(calendar, start, minutes)
    end = start + data.draw(st.integers(0, 3 * 1440)) * MINUTE
    assert walk.between(start, end) * 60 == oracle_between(calendar, start, end)
