"""Routing: agents' routing fields, routing rules, the strategies, the group queues and
the ``assigned`` event, through the public surface, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ayra_tickets import Agent, BusinessCalendar, Engine, RoutingRule, TicketError
from ayra_tickets.transfer import copy_database
from tests.backends import table_counts
from tests.conftest import START

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL

BILLING = RoutingRule("billing", match={"category": "billing"}, group="billing")
ANYTHING = RoutingRule("rest", match={}, group="support", strategy="round_robin")


@pytest.fixture
def other(engine: Engine, engine_address: str) -> Iterator[Engine]:
    """A second engine on the same database (another process, as far as caches go)."""
    with Engine.open(engine_address, clock=engine.clock) as second:
        yield second


def create(engine: Engine, **fields: Any) -> Any:
    return engine.tickets.create(subject="Help", description="Please", **fields)


def assigned_events(engine: Engine, ticket_id: str) -> list[Any]:
    return [event for event in engine.tickets.events(ticket_id) if event.type == "assigned"]


def holder(engine: Engine, ticket_id: str) -> str | None:
    return engine.tickets.get(ticket_id).assigned_to


# -- strategies and the event -----------------------------------------------------------


def test_least_loaded_picks_the_fewest_open_tickets_ties_by_id_and_says_why(
    engine: Engine,
) -> None:
    engine.agents.add("bob", "Bob", groups=["billing"], capacity=10)
    engine.agents.add("alice", "Alice", groups=["billing"], capacity=10)
    engine.agents.add("carol", "Carol", groups=["billing"])
    create(engine, assigned_to="alice")
    create(engine, assigned_to="alice")
    create(engine, assigned_to="carol")
    engine.routing.configure([BILLING])
    first = create(engine, category="billing")
    second = create(engine, category="billing")
    third = create(engine, category="billing")
    assert [first.assigned_to, second.assigned_to, third.assigned_to] == ["bob", "bob", "carol"]
    assert first.assigned_name == "Bob"
    (event,) = assigned_events(engine, first.id)
    assert (event.version, event.field, event.old, event.new) == (1, "assigned_to", None, "bob")
    assert event.data == {
        "rule": "billing",
        "strategy": "least_loaded",
        "group": "billing",
        "reason": "least_loaded: 0 open of 10",
    }
    assert assigned_events(engine, third.id)[0].data["reason"] == "least_loaded: 1 open"
    history = engine.tickets.events(first.id)
    assert history[0].type == "created"
    assert history[0].data["assigned_to"] is None
    assert first.version == 1
    assert engine.check().clean


def test_round_robin_takes_turns_in_id_order_wrapping_and_another_engine_goes_on(
    engine: Engine, other: Engine
) -> None:
    for agent_id in ("carol", "alice", "bob"):
        engine.agents.add(agent_id, agent_id.title(), groups=["support"])
    engine.routing.configure([ANYTHING])
    got = [create(engine).assigned_to for _ in range(4)]
    assert got == ["alice", "bob", "carol", "alice"]
    assert create(other).assigned_to == "bob"  # the turn is stored, not the engine's
    reasons = [
        assigned_events(engine, ticket.id)[0].data["reason"]
        for ticket in engine.tickets.list(sort_by="created_at", sort_order="asc").data
    ]
    assert reasons == [
        "round_robin: first",
        "round_robin: after alice",
        "round_robin: after bob",
        "round_robin: after carol",
        "round_robin: after alice",
    ]


def test_round_robin_passes_over_agents_who_do_not_qualify(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"])
    engine.agents.add("bob", "Bob", groups=["support"], available=False)
    engine.agents.add("carol", "Carol", groups=["support"], capacity=0)
    engine.agents.add("dave", "Dave", groups=["support"])
    engine.routing.configure([ANYTHING])
    assert [create(engine).assigned_to for _ in range(3)] == ["alice", "dave", "alice"]


def test_skills_picks_the_least_loaded_agent_with_every_skill(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["billing"], skills=["billing"], capacity=5)
    engine.agents.add("bob", "Bob", groups=["billing"], skills=["billing", "de"], capacity=5)
    engine.agents.add("carol", "Carol", groups=["billing"], skills=["de", "billing", "fr"])
    engine.agents.add("dave", "Dave", groups=["sales"], skills=["billing", "de"])
    create(engine, assigned_to="carol")
    create(engine, assigned_to="carol")
    create(engine, assigned_to="bob")
    rule = RoutingRule(
        "german",
        match={"tags": ["de"]},
        group="billing",
        strategy="skills",
        skills=["billing", "de"],
    )
    engine.routing.configure([rule])
    ticket = create(engine, tags=["de", "vip"])
    assert ticket.assigned_to == "bob"
    (event,) = assigned_events(engine, ticket.id)
    assert event.data["reason"] == "skills: billing,de; 1 open of 5"
    assert event.data["strategy"] == "skills"


def test_the_first_matching_rule_wins_and_match_tests_every_key_it_names(engine: Engine) -> None:
    engine.agents.add("urgent_agent", "U", groups=["urgent"])
    engine.agents.add("vip_agent", "V", groups=["vip"])
    engine.agents.add("acme_agent", "A", groups=["acme"])
    engine.routing.configure(
        [
            RoutingRule("urgent", match={"priority": [1, 2], "category": "outage"}, group="urgent"),
            RoutingRule("vip", match={"tags": ["vip", "de"]}, group="vip"),
            RoutingRule("acme", match={"contact_id": "acme", "priority": 3}, group="acme"),
        ]
    )
    assert create(engine, priority=2, category="outage", tags=["vip", "de"]).assigned_to == (
        "urgent_agent"
    )
    assert create(engine, priority=3, category="outage").assigned_to is None
    assert create(engine, tags=["de", "vip", "x"]).assigned_to == "vip_agent"
    assert create(engine, tags=["vip"]).assigned_to is None
    assert create(engine, contact_id="acme").assigned_to == "acme_agent"
    assert create(engine, contact_id="acme", priority=4).assigned_to is None
    assert engine.routing.queued() == []  # no rule matched those: nothing waits


def test_an_explicit_assignee_always_wins(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"])
    engine.routing.configure([ANYTHING])
    ticket = create(engine, assigned_to="someone_else")
    assert ticket.assigned_to == "someone_else"
    assert assigned_events(engine, ticket.id) == []
    assert engine.routing.queued() == []


def test_with_no_rules_a_create_is_as_before(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"])
    ticket = create(engine)
    assert ticket.assigned_to is None
    assert [event.type for event in engine.tickets.events(ticket.id)] == ["created", "sla_applied"]


# -- qualifying: availability, hours, capacity -------------------------------------------


def test_an_agent_outside_their_hours_waits_for_them_and_run_due_assigns_when_they_begin(
    engine: Engine,
) -> None:
    # START is Wednesday 09:00 UTC; Berlin's day starts at 10:00 local = 09:00 UTC in
    # winter, so the agent starts work one hour from now.
    hours = BusinessCalendar("Europe/Berlin", hours={"wed": "11:00-12:00"})
    engine.agents.add("alice", "Alice", groups=["support"], calendar=hours)
    engine.routing.configure([ANYTHING])
    waiting = create(engine)
    assert waiting.assigned_to is None
    assert engine.routing.queued("support") == [waiting.id]
    engine.clock.advance(timedelta(minutes=59, seconds=59))  # type: ignore[attr-defined]
    assert engine.run_due()["assignments"] == 0
    engine.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    assert engine.run_due()["assignments"] == 1
    assert engine.run_due()["assignments"] == 0  # done once
    assert holder(engine, waiting.id) == "alice"
    (event,) = assigned_events(engine, waiting.id)
    assert (event.version, event.at) == (2, START + timedelta(hours=1))
    assert engine.routing.queued() == []
    engine.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    assert create(engine).assigned_to is None  # 12:00 local: the end is outside


def test_the_queue_goes_highest_priority_first_then_oldest(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"], capacity=0)
    engine.routing.configure([ANYTHING])
    low = create(engine, priority=4)
    old_high = create(engine, priority=2)
    new_high = create(engine, priority=2)
    urgent = create(engine, priority=1)
    medium = create(engine, priority=3)
    order = [urgent.id, old_high.id, new_high.id, medium.id, low.id]
    assert engine.routing.queued("support") == order
    engine.tickets.update(low.id, priority=1)  # the queue follows the ticket's priority
    order = [low.id, urgent.id, old_high.id, new_high.id, medium.id]  # low is the older
    assert engine.routing.queued() == order
    engine.agents.update("alice", capacity=2)
    assert [holder(engine, ticket_id) for ticket_id in order] == [
        "alice",
        "alice",
        None,
        None,
        None,
    ]
    assert engine.routing.queued() == order[2:]


def test_closing_or_handing_away_a_ticket_frees_its_agent_for_the_queue(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"], capacity=1)
    engine.routing.configure([ANYTHING])
    first = create(engine)
    second = create(engine)
    third = create(engine)
    assert (first.assigned_to, second.assigned_to) == ("alice", None)
    engine.tickets.close(first.id)
    assert holder(engine, second.id) == "alice"
    engine.tickets.update(second.id, assigned_to="outsider")
    assert holder(engine, third.id) == "alice"
    engine.tickets.update(third.id, status="resolved")  # resolved no longer counts
    fourth = create(engine)
    assert fourth.assigned_to == "alice"
    assert engine.check().clean


def test_an_agent_back_from_away_takes_what_waits(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"], available=False)
    engine.routing.configure([ANYTHING])
    waiting = create(engine)
    assert waiting.assigned_to is None
    updated = engine.agents.update("alice", available=True)
    assert updated == Agent("alice", "Alice", groups=("support",))
    assert holder(engine, waiting.id) == "alice"


def test_an_agent_joining_the_group_takes_what_waits(engine: Engine) -> None:
    engine.routing.configure([ANYTHING])
    waiting = create(engine)
    engine.agents.add("alice", "Alice", groups=["sales"])
    assert holder(engine, waiting.id) is None
    engine.agents.update("alice", groups=["sales", "support"])
    assert holder(engine, waiting.id) == "alice"


def test_a_queued_ticket_leaves_the_queue_when_assigned_by_hand_or_closed(engine: Engine) -> None:
    engine.routing.configure([ANYTHING])
    by_hand = create(engine)
    closed = create(engine)
    stays = create(engine)
    engine.tickets.update(by_hand.id, assigned_to="outsider")
    engine.tickets.close(closed.id)
    assert engine.routing.queued() == [stays.id]
    engine.agents.add("alice", "Alice", groups=["support"])
    assert (holder(engine, by_hand.id), holder(engine, stays.id)) == ("outsider", "alice")
    assert engine.tickets.get(closed.id).assigned_to is None


def test_configuring_rules_assigns_what_waits_by_the_new_rules(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"], available=False)
    engine.agents.add("bob", "Bob", groups=["support"])
    engine.routing.configure([RoutingRule("mine", match={}, group="support")])
    engine.agents.update("bob", available=False)
    waiting = create(engine)
    engine.agents.update("bob", available=True)
    assert holder(engine, waiting.id) == "bob"
    engine.agents.update("bob", available=False)
    later = create(engine)
    engine.routing.configure([])  # the rule is gone; the ticket stays in its group's queue
    assert engine.routing.queued("support") == [later.id]
    engine.agents.update("alice", available=True)
    (event,) = assigned_events(engine, later.id)
    assert event.new == "alice"
    assert (event.data["rule"], event.data["strategy"]) == (None, "least_loaded")


def test_a_removed_agent_keeps_their_tickets_and_gets_no_more(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"])
    engine.routing.configure([ANYTHING])
    kept = create(engine)
    assert engine.agents.remove("alice")
    assert holder(engine, kept.id) == "alice"
    assert create(engine).assigned_to is None
    engine.tickets.close(kept.id)  # frees nobody the directory knows: nothing to do
    assert len(engine.routing.queued()) == 1


def test_a_reopened_ticket_keeps_its_assignee_even_over_capacity_or_away(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"], capacity=1)
    engine.routing.configure([ANYTHING])
    first = create(engine)
    engine.tickets.close(first.id)
    second = create(engine)
    assert second.assigned_to == "alice"
    engine.agents.update("alice", available=False)
    reopened = engine.tickets.update(first.id, status="reopened")
    assert reopened.assigned_to == "alice"  # two open of 1: routing gives her nothing more
    engine.agents.update("alice", available=True)
    assert create(engine).assigned_to is None
    engine.tickets.close(second.id)
    assert engine.routing.queued() != []  # still one open of 1
    engine.tickets.close(first.id)
    assert engine.routing.queued() == []


def test_to_group_assigns_or_unassigns_into_the_queue(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["tier2"], capacity=1)
    ticket = create(engine, assigned_to="bob")
    routing = engine.routing
    uow = engine._uow  # the hand-off is for the escalation service, in its transaction
    moved = uow.write(
        lambda: routing.to_group(uow.tickets.get(ticket.id), "tier2", uow.now(), "escalation")
    )
    assert (moved.assigned_to, moved.version) == ("alice", 2)
    (event,) = assigned_events(engine, ticket.id)
    assert (event.old, event.new) == ("bob", "alice")
    assert event.data == {
        "rule": None,
        "strategy": "least_loaded",
        "group": "tier2",
        "reason": "escalation; least_loaded: 0 open of 1",
    }
    other = create(engine, assigned_to="bob")
    queued = uow.write(lambda: routing.to_group(uow.tickets.get(other.id), "tier2", uow.now(), ""))
    assert queued.assigned_to is None
    assert assigned_events(engine, other.id)[0].new is None
    assert engine.routing.queued("tier2") == [other.id]
    engine.tickets.close(ticket.id)
    assert holder(engine, other.id) == "alice"
    assert engine.check().clean


# -- configuration: stored, seen by others, validated -----------------------------------


def test_another_engine_sees_the_rules_and_agents_at_once(engine: Engine, other: Engine) -> None:
    assert other.routing.rules == []
    hours = BusinessCalendar("UTC", hours={"wed": "09:00-17:00"})
    engine.agents.add(
        "alice", "Alice", groups=["support"], skills=["de"], capacity=3, calendar=hours
    )
    engine.routing.configure([ANYTHING, BILLING])
    assert other.routing.rules == [ANYTHING, BILLING]
    assert other.agents.get("alice") == engine.agents.get("alice")
    assert other.agents.get("alice").calendar == hours
    assert create(other).assigned_to == "alice"
    engine.routing.configure([BILLING])
    assert other.routing.rules == [BILLING]
    assert create(other).assigned_to is None


def test_rules_read_back_normalised(engine: Engine) -> None:
    engine.routing.configure(
        [RoutingRule("p", match={"priority": 1, "tags": ["a", "a"]}, group="g")]
    )
    (rule,) = engine.routing.rules
    assert rule.match == {"priority": (1,), "tags": ("a",)}
    assert rule.to_dict() == {
        "name": "p",
        "match": {"priority": [1], "tags": ["a"]},
        "group": "g",
        "strategy": "least_loaded",
        "skills": [],
    }


BAD_RULES: list[tuple[Any, str]] = [
    ([RoutingRule("x", match={"status": "new"}, group="g")], "rules[0].match"),
    ([RoutingRule("x", match={"priority": 7}, group="g")], "rules[0].match.priority"),
    ([RoutingRule("x", match={"priority": []}, group="g")], "rules[0].match"),
    ([RoutingRule("x", match={"tags": "vip"}, group="g")], "rules[0].match.tags"),
    ([RoutingRule("x", match=["priority"], group="g")], "rules[0].match"),  # type: ignore[arg-type]
    ([RoutingRule("x", group="g", strategy="random")], "rules[0].strategy"),
    ([RoutingRule("x", group="")], "rules[0].group"),
    ([RoutingRule("x", group="   ")], "rules[0].group"),
    ([RoutingRule("", group="g")], "rules[0].name"),
    ([RoutingRule("x", group="g", strategy="skills")], "rules[0].skills"),
    ([RoutingRule("x", group="g", skills=["de"])], "rules[0].skills"),
    ([RoutingRule("x", group="g", strategy="skills", skills="de")], "rules[0].skills"),
    ([RoutingRule("x", group="g"), RoutingRule("x", group="h")], "rules[1].name"),
    ([{"name": "x", "group": "g"}], "rules[0]"),
    (RoutingRule("x", group="g"), "rules"),
    ("rules", "rules"),
]


@pytest.mark.parametrize(("rules", "param"), BAD_RULES)
def test_bad_rules_are_refused_naming_what_is_wrong_and_nothing_is_stored(
    engine: Engine, rules: Any, param: str
) -> None:
    engine.routing.configure([BILLING])
    before = table_counts(engine)
    with pytest.raises(TicketError) as refused:
        engine.routing.configure(rules)
    assert refused.value.to_dict()["error"]["param"] == param
    assert engine.routing.rules == [BILLING]
    assert table_counts(engine) == before


BAD_AGENTS: list[tuple[dict[str, Any], str]] = [
    ({"groups": "support"}, "groups"),
    ({"groups": ["ok", 3]}, "groups"),
    ({"groups": ["a,b"]}, "groups"),
    ({"skills": [""]}, "skills"),
    ({"capacity": -1}, "capacity"),
    ({"capacity": True}, "capacity"),
    ({"capacity": "3"}, "capacity"),
    ({"calendar": {"timezone": "UTC"}}, "calendar"),
    ({"available": "no"}, "available"),
    ({"available": None}, "available"),
]


@pytest.mark.parametrize(("fields", "param"), BAD_AGENTS)
def test_bad_agent_fields_are_refused_naming_the_field_and_change_nothing(
    engine: Engine, fields: dict[str, Any], param: str
) -> None:
    engine.agents.add("alice", "Alice", groups=["support"], capacity=2)
    before = (table_counts(engine), engine.agents.all())
    with pytest.raises(TicketError) as refused:
        engine.agents.add("bob", "Bob", **fields)
    assert refused.value.to_dict()["error"]["param"] == param
    with pytest.raises(TicketError) as refused:
        engine.agents.update("alice", **fields)
    assert refused.value.to_dict()["error"]["param"] == param
    assert (table_counts(engine), engine.agents.all()) == before


def test_updating_or_getting_an_unknown_agent_is_refused(engine: Engine) -> None:
    with pytest.raises(TicketError, match="no agent with id 'ghost'"):
        engine.agents.update("ghost", capacity=3)
    with pytest.raises(TicketError, match="no agent with id 'ghost'"):
        engine.agents.get("ghost")
    assert engine.agents.all() == []


def test_update_changes_only_the_fields_given_and_list_still_gives_names(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["a"], skills=["x"], capacity=4)
    changed = engine.agents.update("alice", name="Alice B", capacity=None)
    assert changed == Agent("alice", "Alice B", ("a",), ("x",), None, None, True)
    assert engine.agents.all() == [changed]
    assert engine.agents.list() == {"alice": "Alice B"}


# -- copies --------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_copy_carries_agents_rules_turns_and_queues(engine: Engine, tmp_path: Any) -> None:
    engine.agents.add("alice", "Alice", groups=["support"], skills=["de"])
    engine.agents.add("bob", "Bob", groups=["support"])
    engine.agents.add("carol", "Carol", groups=["support"])
    engine.routing.configure([BILLING, ANYTHING])
    assert [create(engine).assigned_to for _ in range(2)] == ["alice", "bob"]
    waiting = create(engine, category="billing")
    target = str(tmp_path / "copy.db")
    assert copy_database(engine.path, target, clock=engine.clock).identical
    with Engine.open(target, clock=engine.clock) as copied:
        assert copied.agents.get("alice").skills == ("de",)
        assert copied.routing.rules == [BILLING, ANYTHING]
        assert copied.routing.queued() == [waiting.id]
        assert create(copied).assigned_to == "carol"  # the turn went on after bob
        copied.agents.update("alice", groups=["billing"])
        assert holder(copied, waiting.id) == "alice"


# -- the README --------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_the_readme_routing_example_runs_as_written() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (block,) = re.findall(r"```python routing\n(.*?)```", readme, flags=re.DOTALL)
    scope: dict[str, Any] = {}
    exec(block, scope)
    engine = scope["engine"]
    assert engine.routing.queued() == []
    assert engine.check().clean
    engine.close()


# -- costs, resets, retries and writers side by side ------------------------------------


@pytest.mark.sqlite_only
def test_with_no_rules_a_create_reads_nothing_of_routing(engine: Engine) -> None:
    engine.agents.add("alice", "Alice", groups=["support"])
    engine.tickets.create(subject="warm", description="up")  # the caches are read
    statements: list[str] = []
    engine.db.conn.set_trace_callback(statements.append)
    try:
        create(engine)
    finally:
        engine.db.conn.set_trace_callback(None)
    assert statements
    assert not [sql for sql in statements if "routing_" in sql or "agents" in sql]


def test_a_reset_forgets_the_rules_the_turns_and_the_queues(engine: Engine, other: Engine) -> None:
    engine.routing.configure([ANYTHING])
    create(engine)
    engine.reset()
    assert (engine.routing.rules, other.routing.rules) == ([], [])
    assert engine.routing.queued() == []
    engine.agents.add("alice", "Alice", groups=["support"])
    assert create(engine).assigned_to is None


def test_a_create_replayed_with_its_idempotency_key_is_not_routed_again(engine: Engine) -> None:
    for agent_id in ("alice", "bob"):
        engine.agents.add(agent_id, agent_id.title(), groups=["support"])
    engine.routing.configure([ANYTHING])
    first = create(engine, idempotency_key="once")
    again = create(engine, idempotency_key="once")
    assert (again.id, again.assigned_to) == (first.id, "alice")
    assert engine.tickets.count() == 1
    assert create(engine).assigned_to == "bob"  # the turn moved once


def test_writers_on_two_engines_at_once_never_route_past_capacity(
    engine: Engine, other: Engine
) -> None:
    import threading

    engine.agents.add("alice", "Alice", groups=["support"], capacity=3)
    engine.agents.add("bob", "Bob", groups=["support"], capacity=3)
    engine.routing.configure([ANYTHING])
    failures: list[BaseException] = []

    def write(side: Engine) -> None:
        try:
            for _ in range(8):
                create(side)
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(side,)) for side in (engine, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    held = [ticket.assigned_to for ticket in engine.tickets.list(per_page=100).data]
    assert {agent: held.count(agent) for agent in set(held)} == {"alice": 3, "bob": 3, None: 10}
    assert len(engine.routing.queued()) == 10
    engine.agents.update("alice", capacity=4)
    engine.agents.update("bob", capacity=4)
    assert len(engine.routing.queued()) == 8
    assert engine.check().clean


WRITER = """
import sys
from ayra_tickets import Engine, RoutingRule
engine = Engine.open(sys.argv[1])
engine.routing.configure([RoutingRule("rest", match={}, group="support")])
n = 0
while True:
    made = engine.tickets.create(subject="Help", description="Please", priority=1 + n % 4)
    if n % 3 == 2:
        engine.tickets.close(made.id)
    print(made.id, n % 3 == 2, flush=True)
    n += 1
"""


@pytest.mark.sqlite_only
def test_a_writer_killed_mid_run_leaves_queues_that_match_its_tickets(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    path = tmp_path / "killed.db"
    Engine.open(path).close()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert writer.stdout is not None
    acked = [writer.stdout.readline().split() for _ in range(30)]
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stdout.close()
    with Engine.open(path, clock=None) as engine:
        assert engine.check().clean
        tickets = engine.tickets.list(per_page=100, sort_by="created_at", sort_order="asc").data
        assert [t.id for t in tickets][: len(acked)] == [line[0] for line in acked]
        waiting = [t for t in tickets if str(t.status) != "closed"]
        order = sorted(waiting, key=lambda t: (t.priority, t.number))
        assert engine.routing.queued("support") == [t.id for t in order]
        engine.agents.add("alice", "Alice", groups=["support"], capacity=5)
        assert [holder(engine, t.id) for t in order[:6]] == ["alice"] * 5 + [None]
        assert engine.routing.queued() == [t.id for t in order[5:]]


def test_an_escalations_reassign_to_a_group_goes_through_routing(engine: Engine) -> None:
    from ayra_tickets import EscalationLevel, Reassign

    engine.agents.add("tier2_ann", "Ann", groups=["tier2"])
    engine.escalations.configure(
        {
            3: [
                EscalationLevel(
                    on="response_due", after=timedelta(0), actions=[Reassign(group="tier2")]
                )
            ]
        }
    )
    ticket = create(engine, assigned_to="first_line")
    engine.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    engine.run_due()
    assert holder(engine, ticket.id) == "tier2_ann"
    (event,) = assigned_events(engine, ticket.id)
    assert (event.old, event.data["group"], event.data["strategy"]) == (
        "first_line",
        "tier2",
        "least_loaded",
    )
    assert engine.check().clean
