"""The engine's consistency rules for a stored database, the same on every backend.

A check of a database (``ayra-tickets check``) reads every ticket with its events, tag
rows and state rows in number order, and holds each to the rules here: its log replays
to its row, its stored breach time is its SLA clock's, its tag rows and its states are
what its row and log say, and the numbers run without a gap. The rules know no SQL: each
adapter reads its tables (``storage/sqlite/check.py``, ``storage/postgres/check.py``)
and hands them the domain's values. What only one database has (SQLite's integrity
check, its search index) stays with its adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import attrs

from ..domain.sla import breach_at
from ..domain.ticket import Event, Ticket, replay, unlinked
from ..domain.times import format_optional, format_time
from .findings import Finding, Progress

PROGRESS_EVERY = 10_000
"""Tickets between two calls of a progress callback."""

CHECKS: dict[str, str] = {
    "numbers": "ticket numbers run from 1 to the highest without a gap, in creation order",
    "rows": "every ticket's row reads as a ticket",
    "replay": "every ticket's events replay to its row (fields, status, version, times)",
    "sla": "every ticket's stored breach time is the one its SLA clock gives",
    "tags": "ticket_tags holds each ticket's tags, with its status, and nothing else",
    "states": "ticket_states holds what each ticket's log says",
}
"""The rules every backend's check holds the tickets to, by name."""

Rows = list[tuple[Any, ...]]


@attrs.define
class Counts:
    """How many tickets and events a pass has read."""

    tickets: int = 0
    events: int = 0


class Grouped:
    """A stream of rows in ticket-number order (the number first), taken a ticket at a
    time."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def _group(self) -> tuple[int, Rows]:
        assert self._next is not None
        number, rows = self._next[0], [self._next]
        for row in self._rows:
            if row[0] != number:
                self._next = row
                return number, rows
            rows.append(row)
        self._next = None
        return number, rows

    def before(self, number: int | None) -> Iterator[tuple[int, Rows]]:
        """The groups of numbers below ``number`` (all that are left, for ``None``)."""
        while self._next is not None and (number is None or self._next[0] < number):
            yield self._group()

    def take(self, number: int) -> Rows:
        """This number's rows (none if it has none)."""
        if self._next is not None and self._next[0] == number:
            return self._group()[1]
        return []


TicketCheck = Callable[[tuple[Any, ...], Rows, Rows, Rows], list[Finding]]
"""One ticket's checks: its row, and its event, tag and state rows."""


def tickets_pass(
    tickets: Iterable[tuple[Any, ...]],
    streams: dict[str, Iterable[tuple[Any, ...]]],
    check: TicketCheck,
    created_at: Callable[[tuple[Any, ...]], Any] | None,
    total: int,
    counts: Counts,
    progress: Progress | None = None,
) -> list[Finding]:
    """Every ticket row (its number first, in number order) with its ``events``, ``tags``
    and ``states`` rows (each stream in number order, the number first), read side by
    side in one pass, no query per ticket: numbers without a gap, each ticket held to
    ``check``, the rows of tickets that do not exist named. ``created_at`` reads a row's
    creation time when creation times must follow numbers."""
    grouped = {name: Grouped(rows) for name, rows in streams.items()}
    found: list[Finding] = []
    expected, last_created = 1, None
    for row in tickets:
        number = row[0]
        for name, stream in grouped.items():
            found += orphans(name, stream.before(number))
        if number != expected:
            found.append(gap(expected, number))
        expected = number + 1
        if created_at is not None:
            created = created_at(row)
            if last_created is not None and created < last_created:
                found.append(
                    Finding("numbers", "created before the ticket numbered before it", number)
                )
            last_created = created
        events, tags, states = (grouped[name].take(number) for name in _TABLES)
        found += check(row, events, tags, states)
        counts.tickets += 1
        counts.events += len(events)
        if progress is not None and counts.tickets % PROGRESS_EVERY == 0:
            progress(counts.tickets, total)
    for name, stream in grouped.items():
        found += orphans(name, stream.before(None))
    return found


def schema_findings(known: Sequence[str], applied: Sequence[str], ran: str = "") -> list[Finding]:
    """Whether a database has exactly this release's migrations (``known``) among those
    it has (``applied``): one finding if it was written by a newer or an older release,
    whose rules this one cannot hold it to (``ran``: what was checked all the same)."""
    unknown = [name for name in applied if name not in known]
    if unknown:
        return [
            Finding(
                "schema",
                f"written by a newer release of ayra-tickets (its schema has"
                f" {', '.join(unknown)}){ran}: check it with that release",
            )
        ]
    pending = [name for name in known if name not in applied]
    if pending:
        return [
            Finding(
                "schema",
                f"written by an older release: {len(applied)} of {len(known)} schema"
                f" migrations applied (next: {pending[0]}){ran}. Opening it with"
                " ayra-tickets (any other command) upgrades it; then check it again",
            )
        ]
    return []


def gap(expected: int, number: int) -> Finding:
    """The numbers below ``number`` down to ``expected`` have no ticket. (Tickets lost
    from the end leave no gap: their events, tags and states show as orphans.)"""
    if number == expected + 1:
        missing = "there is no such ticket"
    else:
        missing = f"there is no such ticket, nor any up to TICK-{number - 1}"
    return Finding("numbers", f"{missing}: the numbers jump to TICK-{number}", expected)


_ORPHAN_CHECKS = {"events": "replay", "tags": "tags", "states": "states"}
_TABLES = {"events": "ticket_events", "tags": "ticket_tags", "states": "ticket_states"}


def orphans(name: str, groups: Iterable[tuple[int, Rows]]) -> list[Finding]:
    """Rows of ``name`` (``events``, ``tags``, ``states``) for tickets that do not exist."""
    return [
        Finding(
            _ORPHAN_CHECKS[name],
            f"{len(rows)} rows of {_TABLES[name]} for a ticket that does not exist",
            number,
            _TABLES[name],
        )
        for number, rows in groups
    ]


def replays(ticket: Ticket, events: Sequence[Event]) -> list[Finding]:
    """The ticket's log, replayed from its ``created`` event through each change
    (:func:`~ayra_tickets.domain.ticket.replay`), gives its row: every persistent
    field, its version and ``updated_at``. Every change's old value is the one before
    it, every version from 1 to the row's has an event, and every event names the
    ticket's id. Not checked (not in the log): the SLA columns; and an event whose loss
    changes nothing above (a note or an SLA event of a write whose other events remain,
    or a ticket's last events together with its row's matching change) goes unnoticed."""
    number = ticket.number
    if not events:
        return [Finding("replay", "the ticket has no events", number, "ticket_events")]
    found = [
        Finding("replay", f"event {e.id} names ticket {e.ticket_id}, not {ticket.id}", number)
        for e in events
        if e.ticket_id != ticket.id
    ]
    missing = sorted(set(range(1, ticket.version + 1)) - {e.version for e in events})
    if missing:
        listed = ", ".join(str(version) for version in missing[:5])
        found.append(Finding("replay", f"no event of version {listed}", number, "ticket_events"))
    found += [
        Finding(
            "replay",
            f"event {event.id} changes {event.field} from {brief(event.old)}, but the log"
            f" had {brief(had)} before it: a change between them is missing",
            number,
            "ticket_events",
        )
        for event, had in unlinked(events)
    ]
    try:
        logged = replay(events)
    except (ValueError, TypeError, AttributeError) as error:
        return [*found, Finding("replay", f"the log does not replay: {error}", number)]
    shown = {**ticket.persistent(), "version": ticket.version}
    shown["updated_at"] = format_time(ticket.updated_at)
    if shown == logged:
        return found
    for name in sorted(shown.keys() | logged.keys()):
        if shown.get(name) != logged.get(name):
            found.append(
                Finding(
                    "replay",
                    f"{name} is {brief(shown.get(name))} in the row,"
                    f" {brief(logged.get(name))} in the log",
                    number,
                )
            )
    return found


def brief(value: Any, width: int = 60) -> str:
    """A value as a message shows it: its ``repr``, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def sla_breach(ticket: Ticket, stored: str | None) -> list[Finding]:
    """The stored ``sla_breach_at`` (which lists filter on; as RFC 3339 text) is the one
    the ticket's own clock gives. The clock's columns themselves are not in the log and
    not checked."""
    derived = format_optional(breach_at(ticket.clock))
    if stored == derived:
        return []
    return [
        Finding(
            "sla",
            f"sla_breach_at is {stored!r}, the ticket's SLA clock gives {derived!r}",
            ticket.number,
        )
    ]


def tags_match(ticket: Ticket, rows: Rows) -> list[Finding]:
    """``ticket_tags`` holds one row per tag of the ticket, each with its status
    (``rows``: number, tag, status)."""
    held = {tag: status for _, tag, status in rows}
    status = str(ticket.status)
    if held == dict.fromkeys(ticket.tags, status):
        return []
    missing = [tag for tag in ticket.tags if tag not in held]
    extra = sorted(tag for tag in held if tag not in ticket.tags)
    stale = sorted(f"{tag} ({held[tag]})" for tag in ticket.tags if held.get(tag, status) != status)
    parts = []
    if missing:
        parts.append(f"no tag row for {', '.join(missing)}")
    if extra:
        parts.append(f"tag rows for tags it does not have: {', '.join(extra)}")
    if stale:
        parts.append(f"tag rows with another status than its {status}: {', '.join(stale)}")
    return [Finding("tags", "; ".join(parts), ticket.number, "ticket_tags")]


class Stretch(NamedTuple):
    """A ticket's stretch in one status and priority, as ``ticket_states`` holds it: from
    the write of ``version`` at ``began`` until the next such write (``ended``), and
    whether the write that began it resolved or closed the ticket."""

    ticket_number: int
    version: int
    began: datetime
    ended: datetime | None
    status: str
    priority: int
    resolves: bool
    closes: bool


def stretch(
    number: int, version: int, at: datetime, status: str, priority: int, old: str | None
) -> Stretch:
    """The stretch a write began at ``at``; ``old`` is the status before it (``None`` for
    a new ticket). A move to resolved resolves the ticket, and so does closing one that
    was not resolved (as the figures count resolutions)."""
    moved = old is not None and old != status
    resolves = moved and (status == "resolved" or (status == "closed" and old != "resolved"))
    closes = moved and status == "closed"
    return Stretch(number, version, at, None, status, priority, resolves, closes)


def stretches(number: int, events: Iterable[Event]) -> list[Stretch]:
    """A ticket's stretches from its log (its ``created`` event first, then every change
    of status or priority, in order); none when the log does not start with ``created``."""
    found: list[Stretch] = []
    for event in events:
        if event.type == "created":
            if found:
                break  # a second creation: the replay check says so
            data = event.data or {}
            found.append(
                stretch(number, event.version, event.at, data["status"], data["priority"], None)
            )
            continue
        if event.field not in ("status", "priority"):
            continue
        if not found:
            return []  # no creation to start from: the replay check says so
        last = found[-1]
        status, priority = last.status, last.priority
        if event.field == "status":
            status = event.new
        else:
            priority = event.new
        if last.version == event.version:  # another change of the same write
            old = found[-2].status if len(found) > 1 else None
            found[-1] = stretch(number, event.version, event.at, status, priority, old)
        else:
            found[-1] = last._replace(ended=event.at)
            found.append(stretch(number, event.version, event.at, status, priority, last.status))
    return found


def states_match(
    number: int,
    events: Sequence[Event],
    held: Rows,
    shape: Callable[[Stretch], tuple[Any, ...]] = tuple,
) -> list[Finding]:
    """``ticket_states`` holds the stretches the log gives: ``held`` are its rows, in
    :class:`Stretch`'s columns, and ``shape`` writes a stretch as the database holds it."""
    try:
        logged = [shape(found) for found in stretches(number, events)]
    except (ValueError, TypeError, KeyError) as error:
        return [Finding("states", f"the log does not give states ({error!r})", number)]
    if not logged:
        return []  # no log to derive them from: the replay check says so
    rows = [tuple(row) for row in held]
    if rows == logged:
        return []
    return [Finding("states", _state_difference(rows, logged), number, "ticket_states")]


def _state_difference(held: Rows, logged: Rows) -> str:
    """The first difference between the table's states and the log's, in words."""
    for ours, theirs in zip(held, logged, strict=False):
        if ours != theirs:
            changed = [
                f"{name} is {_shown(a)}, the log says {_shown(b)}"
                for name, a, b in zip(Stretch._fields, ours, theirs, strict=True)
                if a != b
            ]
            return f"the state of version {ours[1]}: {'; '.join(changed)}"
    if len(held) > len(logged):
        extra = held[len(logged)][1]
        return f"{len(held) - len(logged)} states the log does not give (from version {extra})"
    lost = logged[len(held)][1]
    return f"{len(logged) - len(held)} states of the log missing (from version {lost})"


def _shown(value: Any) -> str:
    return repr(format_time(value)) if isinstance(value, datetime) else repr(value)
