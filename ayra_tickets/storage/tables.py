"""What both adapters share of their tables: which table holds each kind of record (the
two schemas name them alike, so that ``Storage.counts`` reads the same tables on
either), and how tickets become the rows of a bulk write and range reads become stored
tickets, given each adapter's own converters."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..domain.calendar import BusinessCalendar
from ..domain.lifecycle import Status
from ..domain.routing import CLOSED_STATUSES, Agent
from ..domain.ticket import Event, Ticket
from .consistency import Stretch
from .port import COUNTED, Built, StoredTicket, StoredTimer, Timer

Row = tuple[Any, ...]
Rows = tuple[list[Ticket], list[Row], list[Row]]
"""What a bulk write writes: the tickets (their tags and search words come from them),
the rows of their states and the rows of their events."""
EventRows = Callable[..., list[Row]]
"""An adapter's ``event_rows``: ``(number, event)`` pairs as rows (``with_id=``)."""

EMPTIED = (
    "routing_queue",
    "routing_turns",
    "routing_rules",
    "escalations_fired",
    "escalation_timers",
    "escalation_policies",
    "ticket_states",
    "ticket_events",
    "ticket_tags",
    "tickets",
    "agents",
    "api_keys",
    "idempotency_keys",  # a replay must not answer a ticket that is gone
    "sla_policies",
    "webhook_deliveries",
    "webhook_subscriptions",
    "sync_conflicts",
    "sync_commands",
    "sync_tickets",
    "sync_settings",
)
"""What a reset empties, in an order that no foreign key minds: everything but what
describes the database itself (its schema, its key salt, its counters)."""

_NAMED = {
    "events": "ticket_events",
    "states": "ticket_states",
    "tags": "ticket_tags",
    "keys": "api_keys",
    "policies": "sla_policies",
}
TABLES: dict[str, str] = {kind: _NAMED.get(kind, kind) for kind in COUNTED}
"""The table of each kind of record :meth:`~.port.Storage.counts` counts."""

COUNT_ALL = "SELECT " + ", ".join(f"(SELECT count(*) FROM {table})" for table in TABLES.values())
"""One statement counting every kind, in the order of :data:`TABLES`."""


def counted(row: Sequence[Any] | None) -> dict[str, int]:
    """The counts by kind from the row :data:`COUNT_ALL` reads."""
    assert row is not None  # a SELECT without FROM gives its one row
    return {kind: int(count) for kind, count in zip(TABLES, row, strict=True)}


def by_ticket(rows: Iterable[Sequence[Any]]) -> dict[int, list[Sequence[Any]]]:
    """Rows led by their ticket's number (and in its order), by that number."""
    return {number: list(group) for number, group in itertools.groupby(rows, lambda r: r[0])}


def built_rows(built: Built, first_state: Callable[[Ticket], Row], event_rows: EventRows) -> Rows:
    """The rows of new tickets (an import): each its first state, and its events."""
    return (
        [ticket for ticket, _ in built],
        [first_state(ticket) for ticket, _ in built],
        event_rows((ticket.number, event) for ticket, events in built for event in events),
    )


def stored_rows(
    batch: Sequence[StoredTicket], state_to_row: Callable[[Stretch], Row], event_rows: EventRows
) -> Rows:
    """The rows of tickets as stored elsewhere (a copy): their states, and their events
    led by their ids."""
    return (
        [stored.ticket for stored in batch],
        [state_to_row(state) for stored in batch for state in stored.states],
        event_rows(
            ((stored.ticket.number, event) for stored in batch for event in stored.events),
            with_id=True,
        ),
    )


def assembled(
    rows: Sequence[Sequence[Any]],
    events: Iterable[Sequence[Any]],
    states: Iterable[Sequence[Any]],
    converters: tuple[
        Callable[[Sequence[Any]], Ticket],
        Callable[[Sequence[Any]], Event],
        Callable[[Sequence[Any]], Stretch],
    ],
) -> list[StoredTicket]:
    """Stored tickets from their rows (number first) and the range reads of their events
    and states (each row led by its ticket's number), by the adapter's converters."""
    ticket_of, event_of, state_of = converters
    by_events, by_states = by_ticket(events), by_ticket(states)
    return [
        StoredTicket(
            ticket_of(row),
            tuple(event_of(event[1:]) for event in by_events.get(row[0], ())),
            tuple(state_of(state) for state in by_states.get(row[0], ())),
        )
        for row in rows
    ]


# -- routing (migration 15) -------------------------------------------------------------

AGENT_COLUMNS = "id, name, groups, skills, capacity, calendar, available"
"""An agent's columns, in the order :func:`agent_of` reads them."""
OPEN_LOADS = (
    "SELECT assigned_to, count(*) FROM tickets WHERE assigned_to {among} AND status IN ("
    + ", ".join(f"'{status}'" for status in Status if status not in CLOSED_STATUSES)
    + ") GROUP BY assigned_to"
)
"""Open tickets by assignee (``among``: the adapter's test of a list of ids), read on
the tickets' assignee and status index: the open statuses named, so that the read
seeks to each and never walks an agent's resolved and closed tickets."""
QUEUED = (
    "SELECT q.ticket_number, q.grp, q.rule FROM routing_queue q"
    " JOIN tickets t ON t.number = q.ticket_number{where} ORDER BY t.priority, q.ticket_number"
)
"""The queued tickets (``where``: of some groups, or empty), highest priority first, then
oldest."""


def agent_of(row: Sequence[Any], decode: Callable[[Any], Any]) -> Agent:
    """An agent from the columns of :data:`AGENT_COLUMNS`; ``decode`` reads a JSON column
    as the adapter stores it (text, or already read)."""
    agent_id, name, groups, skills, capacity, calendar, available = row
    return Agent(
        agent_id,
        name,
        tuple(decode(groups)),
        tuple(decode(skills)),
        capacity,
        None if calendar is None else BusinessCalendar.from_dict(decode(calendar)),
        bool(available),
    )


def stored_timers(
    timers: Sequence[Sequence[Any]],
    fired: Iterable[Sequence[Any]],
    instant: Callable[[Any], Any],
) -> list[StoredTimer]:
    """Escalation timers as stored, from their rows (number, due_at, version,
    announced_through) and their tickets' fired levels' rows (number, run, priority,
    level, fired_at), each adapter's instants read by ``instant``."""
    levels = by_ticket(fired)
    return [
        StoredTimer(
            number,
            Timer(instant(due_at), version, instant(through)),
            tuple((r, p, lv, instant(at)) for _, r, p, lv, at in levels.get(number, ())),
        )
        for number, due_at, version, through in timers
    ]
