"""Routing as a state machine: the real engine and a plain model of the routing rules,
side by side, through agents joining, leaving, going away and coming back, capacity
changes, tickets created with and without an assignee, closes and reopens, and clock
advances across the agents' working hours (each followed by ``run_due``).

The model is written from the rules as the README states them, not from the package's
functions: a qualified agent is in the group, available, inside their hours (a span
includes its start, not its end) and below capacity; round robin takes the first
qualified agent after the rule's last, in id order, wrapping; least loaded the fewest
open tickets, ties by id; skills the least loaded of those with every skill of the
rule. A queue is served highest priority first, then oldest; it is served when an
agent may have become free (a ticket of theirs closed, the agent added or changed) and
by ``run_due``.

After every step: every ticket's assignee is the model's; no agent holds more open
tickets than their capacity unless something other than routing put them there (an
explicit assignee, a reopen, a lowered capacity); no ticket waits in a queue while an
agent qualifies for it; the queues hold what the model's hold, in its order.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ayra_tickets import BusinessCalendar, Engine, ManualClock, RoutingRule
from tests.backends import fresh_engine
from tests.conftest import START

AGENT_IDS = ("ann", "ben", "cat", "dan", "eve")
GROUPS = ("front", "back")
SKILLS = ("de", "fr")
STRATEGIES = ("round_robin", "least_loaded", "skills")
SHIFTS: dict[str, tuple[int, int] | None] = {"always": None, "early": (6, 14), "late": (14, 22)}
"""Working hours in UTC, every day: the model's own reading of them."""
CALENDARS = {
    name: None
    if hours is None
    else BusinessCalendar(
        "UTC",
        hours=dict.fromkeys(
            ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
            f"{hours[0]:02d}:00-{hours[1]:02d}:00",
        ),
    )
    for name, hours in SHIFTS.items()
}


class Routing(RuleBasedStateMachine):
    def __init__(self, server: str | None = None) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.held = contextlib.ExitStack()
        self.engine: Engine = self.held.enter_context(fresh_engine(server, self.clock))
        self.agents: dict[str, dict[str, Any]] = {}
        self.tickets: dict[
            str, dict[str, Any]
        ] = {}  # by id: number, priority, assignee, open, rule
        self.queue: dict[str, str] = {}  # ticket id -> group
        self.turns: dict[tuple[str, str], str] = {}  # (group, rule) -> last agent
        self.forced: set[str] = set()  # agents routing may find over capacity
        self.rules: list[dict[str, Any]] = []

    def teardown(self) -> None:
        self.held.close()

    # -- the model ---------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC).replace(microsecond=0)

    def load(self, agent_id: str) -> int:
        return sum(1 for t in self.tickets.values() if t["assignee"] == agent_id and t["open"])

    def qualified(self, rule: dict[str, Any]) -> list[str]:
        hour = self.now().hour
        found = []
        for agent_id in sorted(self.agents):
            agent = self.agents[agent_id]
            hours = SHIFTS[agent["shift"]]
            if rule["group"] not in agent["groups"] or not agent["available"]:
                continue
            if hours is not None and not hours[0] <= hour < hours[1]:
                continue
            if agent["capacity"] is not None and self.load(agent_id) >= agent["capacity"]:
                continue
            if rule["strategy"] == "skills" and not set(rule["skills"]) <= set(agent["skills"]):
                continue
            found.append(agent_id)
        return found

    def pick(self, rule: dict[str, Any]) -> str | None:
        """The model's choice for ``rule``, its turn taken."""
        candidates = self.qualified(rule)
        if not candidates:
            return None
        if rule["strategy"] == "round_robin":
            last = self.turns.get((rule["group"], rule["name"]))
            later = [a for a in candidates if last is not None and a > last]
            chosen = (later or candidates)[0]
        else:
            chosen = min(candidates, key=lambda a: (self.load(a), a))
        self.turns[(rule["group"], rule["name"])] = chosen
        return chosen

    def drain(self, groups: set[str] | None) -> None:
        waiting = sorted(
            (
                ticket_id
                for ticket_id, group in self.queue.items()
                if groups is None or group in groups
            ),
            key=lambda t: (self.tickets[t]["priority"], self.tickets[t]["number"]),
        )
        for ticket_id in waiting:
            rule = self.tickets[ticket_id]["rule"]
            chosen = self.pick(rule)
            if chosen is not None:
                self.tickets[ticket_id]["assignee"] = chosen
                del self.queue[ticket_id]

    def queue_order(self) -> list[str]:
        return sorted(
            self.queue, key=lambda t: (self.tickets[t]["priority"], self.tickets[t]["number"])
        )

    # -- steps ---------------------------------------------------------------------------

    @initialize(
        first=st.sampled_from(STRATEGIES),
        second=st.sampled_from(STRATEGIES),
        urgent=st.lists(st.integers(1, 4), min_size=1, max_size=2, unique=True),
    )
    def configure(self, first: str, second: str, urgent: list[int]) -> None:
        self.rules = [
            {"name": "urgent", "priority": urgent, "group": "front", "strategy": first},
            {"name": "rest", "priority": None, "group": "back", "strategy": second},
        ]
        for each in self.rules:
            each["skills"] = ["de"] if each["strategy"] == "skills" else []
        note(f"rules: {self.rules}")
        self.engine.routing.configure(
            [
                RoutingRule(
                    r["name"],
                    match={} if r["priority"] is None else {"priority": r["priority"]},
                    group=r["group"],
                    strategy=r["strategy"],
                    skills=r["skills"],
                )
                for r in self.rules
            ]
        )

    @initialize(
        staff=st.lists(
            st.tuples(
                st.sampled_from(AGENT_IDS),
                st.none() | st.integers(0, 2),
                st.sampled_from(sorted(SHIFTS)),
                st.sets(st.sampled_from(SKILLS)),
            ),
            min_size=2,
            max_size=4,
            unique_by=lambda each: each[0],
        )
    )
    def agents_start(self, staff: list[tuple[str, int | None, str, set[str]]]) -> None:
        """Some agents in both groups from the start, so that most runs have choices
        to make (ties among them included), and queues when they are full or off."""
        for agent_id, capacity, shift, skills in staff:
            self.agent_joins(agent_id, set(GROUPS), skills, capacity, shift, True)

    @rule(
        agent_id=st.sampled_from(AGENT_IDS),
        groups=st.sets(st.sampled_from(GROUPS)),
        skills=st.sets(st.sampled_from(SKILLS)),
        capacity=st.none() | st.integers(0, 3),
        shift=st.sampled_from(("always", *sorted(SHIFTS))),
        available=st.booleans(),
    )
    def agent_joins(
        self,
        agent_id: str,
        groups: set[str],
        skills: set[str],
        capacity: int | None,
        shift: str,
        available: bool,
    ) -> None:
        was = self.agents.get(agent_id)
        self.engine.agents.add(
            agent_id,
            agent_id.title(),
            groups=sorted(groups),
            skills=sorted(skills),
            capacity=capacity,
            calendar=CALENDARS[shift],
            available=available,
        )
        if capacity is not None and self.load(agent_id) > capacity:
            self.forced.add(agent_id)  # their tickets stayed theirs, over the new capacity
        self.agents[agent_id] = {
            "groups": groups,
            "skills": skills,
            "capacity": capacity,
            "shift": shift,
            "available": available,
        }
        self.drain(groups | (set() if was is None else was["groups"]))

    @precondition(lambda self: bool(self.agents))
    @rule(data=st.data())
    def agent_leaves(self, data: st.DataObject) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.agents)))
        assert self.engine.agents.remove(agent_id)
        del self.agents[agent_id]

    @precondition(lambda self: bool(self.agents))
    @rule(data=st.data(), available=st.booleans())
    def agent_goes_away_or_comes_back(self, data: st.DataObject, available: bool) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.agents)))
        self.engine.agents.update(agent_id, available=available)
        self.agents[agent_id]["available"] = available
        self.drain(self.agents[agent_id]["groups"])

    @precondition(lambda self: bool(self.agents))
    @rule(data=st.data(), capacity=st.none() | st.integers(0, 3))
    def capacity_changes(self, data: st.DataObject, capacity: int | None) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.agents)))
        self.engine.agents.update(agent_id, capacity=capacity)
        if capacity is not None and self.load(agent_id) > capacity:
            self.forced.add(agent_id)
        self.agents[agent_id]["capacity"] = capacity
        self.drain(self.agents[agent_id]["groups"])

    @rule(
        priority=st.integers(1, 4),
        assignee=st.none() | st.sampled_from((*AGENT_IDS, "outsider")),
    )
    def ticket_created(self, priority: int, assignee: str | None) -> None:
        made = self.engine.tickets.create(
            subject="Help", description="Please", priority=priority, assigned_to=assignee
        )
        rule = next(r for r in self.rules if r["priority"] is None or priority in r["priority"])
        self.tickets[made.id] = {
            "number": made.number,
            "priority": priority,
            "assignee": assignee,
            "open": True,
            "rule": rule,
        }
        if assignee is not None:
            self.forced.add(assignee)
        else:
            chosen = self.pick(rule)
            self.tickets[made.id]["assignee"] = chosen
            if chosen is None:
                self.queue[made.id] = rule["group"]
        note(f"created {made.number} p{priority} -> {made.assigned_to}")

    @precondition(lambda self: any(t["open"] for t in self.tickets.values()))
    @rule(data=st.data())
    def ticket_closed(self, data: st.DataObject) -> None:
        ticket_id = data.draw(
            st.sampled_from(sorted(t for t, v in self.tickets.items() if v["open"]))
        )
        self.engine.tickets.close(ticket_id)
        ticket = self.tickets[ticket_id]
        ticket["open"] = False
        self.queue.pop(ticket_id, None)
        holder = ticket["assignee"]
        if holder in self.agents:
            self.drain(self.agents[holder]["groups"])

    @precondition(lambda self: any(not t["open"] for t in self.tickets.values()))
    @rule(data=st.data())
    def ticket_reopened(self, data: st.DataObject) -> None:
        ticket_id = data.draw(
            st.sampled_from(sorted(t for t, v in self.tickets.items() if not v["open"]))
        )
        self.engine.tickets.update(ticket_id, status="reopened")
        ticket = self.tickets[ticket_id]
        ticket["open"] = True
        if ticket["assignee"] is not None:
            self.forced.add(ticket["assignee"])

    @rule(minutes=st.integers(1, 60 * 12))
    def clock_advances(self, minutes: int) -> None:
        self.clock_advances_to(self.now() + timedelta(minutes=minutes))

    @rule(before=st.sampled_from((1, 0)))
    def clock_reaches_a_shift_edge(self, before: int) -> None:
        """To the next start or end of a shift, or a second before it."""
        now = self.now()
        edges = [
            now.replace(hour=hour, minute=0, second=0) + timedelta(days=day)
            for day in (0, 1)
            for hour in (6, 14, 22)
        ]
        edge = min(e for e in edges if e - timedelta(seconds=before) > now)
        self.clock_advances_to(edge - timedelta(seconds=before))

    def clock_advances_to(self, instant: datetime) -> None:
        self.clock.set(instant)
        done = self.engine.run_due()["assignments"]
        before = len(self.queue)
        self.drain(None)
        assert done == before - len(self.queue)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def every_assignee_is_the_models(self) -> None:
        shown = {
            ticket.id: ticket.assigned_to for ticket in self.engine.tickets.list(per_page=100).data
        }
        expected = {ticket_id: t["assignee"] for ticket_id, t in self.tickets.items()}
        if len(self.tickets) <= 100:
            assert shown == expected

    @invariant()
    def no_agent_is_over_capacity_through_routing(self) -> None:
        for agent_id, agent in self.agents.items():
            if agent["capacity"] is not None and agent_id not in self.forced:
                assert self.load(agent_id) <= agent["capacity"], agent_id

    @invariant()
    def no_ticket_waits_while_an_agent_qualifies_for_it(self) -> None:
        for ticket_id in self.queue:
            assert self.qualified(self.tickets[ticket_id]["rule"]) == [], ticket_id

    @invariant()
    def the_queues_are_the_models(self) -> None:
        assert self.engine.routing.queued() == self.queue_order()


TestRouting = Routing.TestCase
TestRouting.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)

POSTGRES_EXAMPLES = 15
"""The machine on PostgreSQL: fewer runs (each opens a schema); the SQLite runs explore
the rules, these the storage."""


def test_routing_on_postgres(postgres_server: str) -> None:
    run_state_machine_as_test(
        lambda: Routing(postgres_server),
        settings=settings(max_examples=POSTGRES_EXAMPLES, stateful_step_count=25, deadline=None),
    )
