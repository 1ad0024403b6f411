"""``engine.metrics`` against a plain Python oracle computed from the event log: random
ticket histories, random windows and filters; every figure agrees exactly (durations to
the second)."""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ayra_tickets import BusinessCalendar, Engine, ManualClock, SlaPolicy, TicketError
from ayra_tickets.domain.metrics import (
    AgentRow,
    Bucket,
    Compliance,
    Durations,
    Satisfaction,
    buckets,
)
from ayra_tickets.domain.ticket import replay
from tests.backends import fresh_engine
from tests.conftest import START

AGENTS = ["user_a", "user_b", None]
CATEGORIES = ["billing", "technical", None]
TAGS = ["refund", "urgent", "vip"]
OFFICE_HOURS = SlaPolicy(
    name="office-hours",
    calendar=BusinessCalendar(
        timezone="Europe/Berlin",
        hours={day: "09:00-12:30,13:30-17:30" for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays=["2025-01-17"],
    ),
    targets={},
)

create_body = st.fixed_dictionaries(
    {
        "priority": st.integers(1, 4),
        "status": st.sampled_from(["new", "new", "open", "in_progress"]),
        "assigned_to": st.sampled_from(AGENTS),
        "category": st.sampled_from(CATEGORIES),
        "tags": st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
    }
)
step = st.one_of(
    st.tuples(st.just("create"), create_body),
    st.tuples(st.just("status"), st.sampled_from(
        ["open", "in_progress", "waiting_on_customer", "resolved", "reopened"])),
    st.tuples(st.just("close"), st.fixed_dictionaries({
        "customer_satisfaction": st.one_of(st.none(), st.integers(1, 10)),
        "root_cause": st.sampled_from(["user_error", "system_error", None]),
    })),
    st.tuples(st.just("priority"), st.integers(1, 4)),
    st.tuples(st.just("assign"), st.sampled_from(AGENTS)),
)  # fmt: skip


def oracle(
    engine: Engine, start: datetime, end: datetime, interval: str, filters: dict[str, Any]
) -> dict[str, Any]:
    chosen = chosen_tickets(engine, filters)
    return _figures(engine, chosen, start, end, interval)


def chosen_tickets(engine: Engine, filters: dict[str, Any]) -> list[dict[str, Any]]:
    chosen = []
    for ticket in engine.tickets.export():
        if "assigned_to" in filters and ticket["assigned_to"] != filters["assigned_to"]:
            continue
        if "category" in filters and ticket["category"] != filters["category"]:
            continue
        if "priority" in filters and ticket["priority"] not in filters["priority"]:
            continue
        if "tags" in filters and not set(filters["tags"]) <= set(ticket["tags"]):
            continue
        chosen.append(ticket)
    return chosen


def _figures(
    engine: Engine, chosen: list[dict[str, Any]], start: datetime, end: datetime, interval: str
) -> dict[str, Any]:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    def inside(when: datetime) -> bool:
        return start <= when < end

    firsts = buckets(start, end, interval)
    policies = engine.sla.policies

    def business(ticket: dict[str, Any], began: datetime, ended: datetime) -> int:
        return policies[ticket["sla"]["policy"]].measure.seconds_between(began, ended)

    def bucket_of(when: datetime) -> datetime:
        return max(first for first in firsts if first <= when)

    created: Counter[datetime] = Counter()
    resolved: Counter[datetime] = Counter()
    closed: Counter[datetime] = Counter()
    first_response, resolution = [], []
    first_response_business, resolution_business = [], []
    resolved_tickets, closed_tickets = set(), []
    sla: dict[int, list[int]] = {}
    for ticket in chosen:
        born = at(ticket["created_at"])
        if inside(born):
            created[bucket_of(born)] += 1
            if ticket["first_response_at"] is not None:
                answered = at(ticket["first_response_at"])
                first_response.append(int((answered - born).total_seconds()))
                first_response_business.append(business(ticket, born, answered))
            tally = sla.setdefault(ticket["priority"], [0, 0, 0, 0])
            view = ticket["sla"]
            tally[0] += view["response_met"] is True
            tally[1] += view["response_met"] is False
            tally[2] += view["resolution_met"] is True
            tally[3] += view["resolution_met"] is False
        was_closed = False
        for event in engine.tickets.events(ticket["id"]):
            if not inside(event.at) or event.field != "status":
                continue
            if event.new == "resolved" or (event.type == "closed" and event.old != "resolved"):
                resolved[bucket_of(event.at)] += 1
                resolution.append(int((event.at - born).total_seconds()))
                resolution_business.append(business(ticket, born, event.at))
                resolved_tickets.add(ticket["id"])
            if event.type == "closed":
                closed[bucket_of(event.at)] += 1
                was_closed = True
        if was_closed:
            closed_tickets.append(ticket)

    def scores(group: list[dict[str, Any]]) -> Satisfaction:
        given = [
            t["customer_satisfaction"] for t in group if t["customer_satisfaction"] is not None
        ]
        counts = Counter(given)
        return Satisfaction(
            len(given), sum(given) / len(given) if given else None,
            {score: counts.get(score, 0) for score in range(1, 11)},
        )  # fmt: skip

    def by(name: str) -> dict[Any, Satisfaction]:
        keys = {t[name] for t in closed_tickets if t["customer_satisfaction"] is not None}
        return {key: scores([t for t in closed_tickets if t[name] == key]) for key in keys}

    reopened = [t for t in chosen if t["id"] in resolved_tickets and t["reopened_count"] > 0]
    now = engine.clock.now()
    in_status: Counter[str] = Counter()
    for ticket in chosen:
        history = engine.tickets.events(ticket["id"])
        moves = [(e.at, e.data["status"] if e.type == "created" else e.new)
                 for e in history if e.type == "created" or e.field == "status"]  # fmt: skip
        for (began, status), after in zip(moves, [*moves[1:], (now, None)], strict=True):
            low, high = max(began, start), min(after[0], end, now)
            if began < min(end, now) and after[0] > start:
                in_status[status] += int((high - low).total_seconds())
    agents = []
    names = {t["assigned_to"] for t in chosen}
    for name in sorted(names, key=lambda n: (n is None, n or "")):
        mine = [t for t in chosen if t["assigned_to"] == name]
        born = [t for t in mine if inside(at(t["created_at"]))]
        responses = [int((at(t["first_response_at"]) - at(t["created_at"])).total_seconds())
                     for t in born if t["first_response_at"] is not None]  # fmt: skip
        resolutions = []
        for ticket in mine:
            for event in engine.tickets.events(ticket["id"]):
                if (
                    inside(event.at)
                    and event.field == "status"
                    and (
                        event.new == "resolved"
                        or (event.type == "closed" and event.old != "resolved")
                    )
                ):
                    resolutions.append(int((event.at - at(ticket["created_at"])).total_seconds()))
        scores_given = [t["customer_satisfaction"] for t in closed_tickets
                        if t["assigned_to"] == name and t["customer_satisfaction"] is not None]  # fmt: skip
        breaches = sum(t["sla"]["breached"] for t in born)
        if born or resolutions or scores_given or breaches:
            agents.append(AgentRow(
                agent=name, assigned=len(born), resolved=len(resolutions),
                first_response_median=Durations.of(responses).median,
                resolution_median=Durations.of(resolutions).median,
                csat_mean=sum(scores_given) / len(scores_given) if scores_given else None,
                breaches=breaches,
            ))  # fmt: skip
    return {
        "volume": [
            Bucket(first, created[first], resolved[first], closed[first]) for first in firsts
        ],
        "first_response": Durations.of(first_response),
        "resolution": Durations.of(resolution),
        "first_response_business": Durations.of(first_response_business),
        "resolution_business": Durations.of(resolution_business),
        "sla": {priority: Compliance(*tally) for priority, tally in sorted(sla.items())},
        "csat": scores(closed_tickets),
        "csat_by_agent": by("assigned_to"),
        "csat_by_root_cause": by("root_cause"),
        "csat_by_category": by("category"),
        "reopen_rate": len(reopened) / len(resolved_tickets) if resolved_tickets else None,
        "root_causes": dict(Counter(t["root_cause"] for t in closed_tickets)),
        "time_in_status": {status: n for status, n in in_status.items() if n},
        "agents": agents,
    }


def backlog_oracle(
    engine: Engine, at: datetime, filters: dict[str, Any]
) -> dict[str, dict[int, int]]:
    found: dict[str, Counter[int]] = {}
    for ticket in chosen_tickets(engine, filters):
        history = [e for e in engine.tickets.events(ticket["id"]) if e.at <= at]
        if history:
            state = replay(history)
            found.setdefault(state["status"], Counter())[state["priority"]] += 1
    return {status: dict(counts) for status, counts in found.items()}


FIGURES = dict(
    steps=st.lists(st.tuples(step, st.integers(0, 40 * 3600)), min_size=1, max_size=40),
    window=st.tuples(st.integers(-2, 60), st.integers(1, 400)),
    interval=st.sampled_from(["day", "week"]),
    filters=st.fixed_dictionaries({}, optional={
        "assigned_to": st.sampled_from(["user_a", "user_b"]),
        "category": st.sampled_from(["billing", "technical"]),
        "priority": st.lists(st.integers(1, 4), min_size=1, max_size=2, unique=True),
        "tags": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True),
    }),
    data=st.data(),
)  # fmt: skip
"""The histories and queries of :func:`every_figure_equals_the_oracles`."""

EXAMPLES = int(os.environ.get("METRICS_EXAMPLES", "100"))
POSTGRES_EXAMPLES = 20
"""The figures on PostgreSQL: fewer histories (each opens a schema), the same checks."""


@settings(max_examples=EXAMPLES, deadline=None)
@given(**FIGURES)
def test_every_figure_equals_the_oracles(
    steps: list[tuple[tuple[str, Any], int]],
    window: tuple[int, int],
    interval: str,
    filters: dict[str, Any],
    data: st.DataObject,
) -> None:
    every_figure_equals_the_oracles(None, steps, window, interval, filters, data)


@settings(max_examples=POSTGRES_EXAMPLES, deadline=None)
@given(**FIGURES)
def test_every_figure_equals_the_oracles_on_postgres(
    postgres_server: str,
    steps: list[tuple[tuple[str, Any], int]],
    window: tuple[int, int],
    interval: str,
    filters: dict[str, Any],
    data: st.DataObject,
) -> None:
    every_figure_equals_the_oracles(postgres_server, steps, window, interval, filters, data)


def every_figure_equals_the_oracles(
    server: str | None,
    steps: list[tuple[tuple[str, Any], int]],
    window: tuple[int, int],
    interval: str,
    filters: dict[str, Any],
    data: st.DataObject,
) -> None:
    clock = ManualClock(START)
    with fresh_engine(server, clock) as engine:
        ids: list[str] = []
        business_from = data.draw(
            st.one_of(st.none(), st.integers(0, len(steps))), label="office hours from step"
        )
        for index, ((kind, value), gap) in enumerate(steps):
            if index == business_from:  # tickets from here on run on office hours
                engine.sla.configure(OFFICE_HOURS)
            clock.advance(timedelta(seconds=gap))
            if kind == "create" or not ids:
                body = value if kind == "create" else {}  # the first step makes a ticket
                fields = {k: v for k, v in body.items() if v is not None}
                ids.append(engine.tickets.create(subject="s", description="d", **fields).id)
                continue
            target = ids[data.draw(st.integers(0, len(ids) - 1), label="ticket")]
            try:
                if kind == "status":
                    engine.tickets.update(target, status=value)
                elif kind == "close":
                    engine.tickets.close(
                        target, **{k: v for k, v in value.items() if v is not None}
                    )
                elif kind == "priority":
                    engine.tickets.update(target, priority=value)
                else:
                    engine.tickets.update(target, assigned_to=value)
            except TicketError:
                pass  # a move the lifecycle refuses: not part of the history
        clock.advance(timedelta(hours=data.draw(st.integers(0, 200), label="read later")))
        start = START + timedelta(hours=window[0])
        end = start + timedelta(hours=window[1])
        query = {
            k: (",".join(map(str, v)) if isinstance(v, list) else v) for k, v in filters.items()
        }
        figures = engine.metrics(start, end, interval=interval, **query)
        expected = oracle(engine, start, end, interval, filters)
        for name, value in expected.items():
            assert getattr(figures, name) == value, name
        moment = START + timedelta(hours=data.draw(st.integers(-1, 400), label="backlog at"))
        assert engine.metrics.backlog(moment, **query) == backlog_oracle(engine, moment, filters)


RESPONSES = dict(
    tickets=st.lists(
        st.tuples(
            st.sampled_from(["user_a", None]),
            st.sampled_from(CATEGORIES),
            st.integers(1, 4),
            st.sampled_from([[], ["vip"], ["vip"]]),
            st.integers(0, 3 * 86400),  # created this long after the first
            st.one_of(st.none(), st.integers(0, 2 * 86400)),  # answered this long after
        ),
        min_size=8,
        max_size=40,
    ),
    window=st.tuples(st.integers(-1, 2), st.integers(2, 5)),
    filters=st.one_of(
        st.just({}),
        st.fixed_dictionaries({"assigned_to": st.sampled_from(["user_a", "user_b"])}),
        st.fixed_dictionaries({"category": st.sampled_from(["billing", "technical"])}),
        st.fixed_dictionaries(
            {"priority": st.lists(st.integers(1, 4), min_size=2, max_size=3, unique=True)}
        ),
        st.just({"tags": ["vip"]}),
        st.just({"tags": ["vip"], "priority": [1, 2, 3]}),
    ),
)  # fmt: skip
"""The tickets and queries of :func:`response_times_equal_the_oracles`."""


@settings(max_examples=EXAMPLES, deadline=None)
@given(**RESPONSES)
def test_response_times_overall_and_by_agent_equal_the_oracles(
    tickets: list[tuple[str | None, str | None, int, list[str], int, int | None]],
    window: tuple[int, int],
    filters: dict[str, Any],
) -> None:
    response_times_equal_the_oracles(None, tickets, window, filters)


@settings(max_examples=POSTGRES_EXAMPLES, deadline=None)
@given(**RESPONSES)
def test_response_times_overall_and_by_agent_equal_the_oracles_on_postgres(
    postgres_server: str,
    tickets: list[tuple[str | None, str | None, int, list[str], int, int | None]],
    window: tuple[int, int],
    filters: dict[str, Any],
) -> None:
    response_times_equal_the_oracles(postgres_server, tickets, window, filters)


def response_times_equal_the_oracles(
    server: str | None,
    tickets: list[tuple[str | None, str | None, int, list[str], int, int | None]],
    window: tuple[int, int],
    filters: dict[str, Any],
) -> None:
    """Many answered tickets, for the ranks: medians and 90th percentiles overall and per
    agent, with the filters the response-time indexes carry and one they do not (tags)."""
    clock = ManualClock(START)
    answers: list[tuple[datetime, str]] = []
    with fresh_engine(server, clock) as engine:
        for agent, category, priority, tags, after, delay in sorted(tickets, key=lambda t: t[4]):
            clock.set(max(clock.now(), START + timedelta(seconds=after)))
            made = engine.tickets.create(
                subject="s", description="d", assigned_to=agent, category=category,
                priority=priority, tags=tags,
            )  # fmt: skip
            if delay is not None:
                answers.append((clock.now() + timedelta(seconds=delay), made.id))
            while answers and min(answers)[0] <= clock.now():
                _, ticket_id = answers.pop(answers.index(min(answers)))
                engine.tickets.update(ticket_id, status="in_progress")
        for when, ticket_id in sorted(answers):
            clock.set(max(clock.now(), when))
            engine.tickets.update(ticket_id, status="in_progress")
        start = START + timedelta(days=window[0])
        end = start + timedelta(days=window[1])
        query = {
            k: (",".join(map(str, v)) if isinstance(v, list) else v) for k, v in filters.items()
        }
        figures = engine.metrics(start, end, **query)
        expected = oracle(engine, start, end, "day", filters)
        assert figures.first_response == expected["first_response"]
        assert figures.first_response_business == expected["first_response_business"]
        assert figures.agents == expected["agents"]
