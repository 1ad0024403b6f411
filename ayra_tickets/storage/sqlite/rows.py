"""A ticket's rows in SQLite: the columns, the converters and the statements that write
and read them, and the rows beside it (its search entry, its tags, its states, its
events).

The columns and the converters are derived from the field table
(:mod:`ayra_tickets.domain.fields`): each :class:`~ayra_tickets.domain.fields.Kind` is
stored as one SQLite type (times as RFC 3339 text, tags and objects as JSON text, flags
as 0 or 1). Rows become :class:`~ayra_tickets.domain.Ticket` values only through
:func:`ticket_from_row`; the table's shape and the domain's are free to differ. The
names here are public within the adapter: the repository, the metrics, the check, the
schema's migrations and the benchmarks' raw-SQL side all use them.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ...domain.fields import (
    CLOCK_FIELDS,
    TICKET_FIELDS,
    Convert,
    Field,
    Kind,
    NoneOr,
    call_maker,
    tuple_maker,
)
from ...domain.lifecycle import Status
from ...domain.sla import SlaClock, breach_at
from ...domain.ticket import Event, Ticket
from ...domain.times import format_optional, format_time, load_optional, load_time
from ..consistency import Stretch, stretch, stretches
from ..port import SlaView

COLUMNS: tuple[str, ...] = (
    *(field.name for field in TICKET_FIELDS),
    *(f"sla_{field.name}" for field in CLOCK_FIELDS),
    "sla_breach_at",
)
"""The tickets table's columns, in its order: the ticket's fields, its SLA clock's, and
the breach time derived from the clock. (Remembered idempotent answers hold rows in this
order: it only ever grows at the end.)"""

SELECT = (
    "SELECT "
    + ", ".join(f"t.{name}" for name in COLUMNS)
    + ", a.name FROM tickets t LEFT JOIN agents a ON a.id = t.assigned_to"
)
"""A ticket's row and its assignee's name (what :func:`ticket_from_row` reads)."""
SELECT_BY_TEXT = (
    "SELECT "
    + ", ".join(f"t.{name}" for name in COLUMNS)
    + ", a.name FROM tickets_fts JOIN tickets t ON t.number = tickets_fts.rowid"
    + " LEFT JOIN agents a ON a.id = t.assigned_to"
)
"""As :data:`SELECT`, read from the search index (in its order)."""
INSERT = f"INSERT INTO tickets ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
UPDATE = (
    "UPDATE tickets SET "
    + ", ".join(f"{name} = ?" for name in COLUMNS[2:])
    + " WHERE number = ? AND version = ?"
)
"""A ticket's row over the one it was read from: the values of ``COLUMNS[2:]``, then its
number and the version it was read at (a versioned update: it changes no row if another
writer got there first)."""

# The full-text index (an external-content FTS5 table made by sqlite-utils) is written
# with the tickets: through triggers it cost milliseconds a row on big tables.
INDEX_TEXT = "INSERT INTO tickets_fts (rowid, subject, description, facets) VALUES (?, ?, ?, ?)"
UNINDEX_TEXT = (
    "INSERT INTO tickets_fts (tickets_fts, rowid, subject, description, facets)"
    " VALUES ('delete', ?, ?, ?, ?)"
)
# A tag row carries its ticket's status too, so that a tag and a status are counted from
# one index (ticket_tags_by_tag_status).
INSERT_TAG = "INSERT INTO ticket_tags (tag, ticket_number, status) VALUES (?, ?, ?)"
INSERT_STATE = (
    "INSERT INTO ticket_states (ticket_number, version, began, ended, status, priority,"
    " resolves, closes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
END_STATE = "UPDATE ticket_states SET ended = ? WHERE ticket_number = ? AND ended IS NULL"
_EVENT_COLUMNS = (
    "ticket_number, ticket_id, version, type, field, old_value, new_value, data, created_at"
)
INSERT_EVENT = f"INSERT INTO ticket_events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' * 9)})"
INSERT_EVENT_WITH_ID = (
    f"INSERT INTO ticket_events (id, {_EVENT_COLUMNS}) VALUES ({', '.join('?' * 10)})"
)
"""An event as stored elsewhere, its id kept (a copy): the id, then :data:`INSERT_EVENT`'s."""
_SELECTED_EVENT = "id, ticket_id, version, type, field, old_value, new_value, data, created_at"
SELECT_EVENTS = f"SELECT {_SELECTED_EVENT} FROM ticket_events WHERE ticket_number = ? ORDER BY id"
SELECT_EVENTS_BETWEEN = (
    f"SELECT ticket_number, {_SELECTED_EVENT} FROM ticket_events"
    " WHERE ticket_number BETWEEN ? AND ? ORDER BY ticket_number, id"
)
"""The events of a range of tickets, each row led by its ticket's number."""
SELECT_STATES_BETWEEN = (
    "SELECT ticket_number, version, began, ended, status, priority, resolves, closes"
    " FROM ticket_states WHERE ticket_number BETWEEN ? AND ? ORDER BY ticket_number, version"
)


# -- values ---------------------------------------------------------------------------

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
encode = _ENCODE
"""JSON as the file stores it: compact, UTF-8 as it is."""


def dumps(value: Any) -> str:
    """A JSON column's text (``{}`` for an empty object)."""
    return _ENCODE(value) if value else ("{}" if isinstance(value, dict) else _ENCODE(value))


def _json(text: str) -> Any:
    return {} if text == "{}" else json.loads(text)


@functools.lru_cache(maxsize=1024)
def _tags(text: str) -> tuple[str, ...]:
    """A ticket's tags from their column: few sets recur on many tickets, and a tuple can
    be shared."""
    return tuple(json.loads(text))


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _load_flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


_STATUSES = {str(status): status for status in Status}

_STORED: dict[Kind, tuple[Convert, Convert]] = {
    # kind: (to the column, from the column), for a field that is never None
    Kind.NUMBER: (None, None),
    Kind.TEXT: (None, None),
    Kind.INTEGER: (int, None),
    Kind.STATUS: (str, _STATUSES.__getitem__),
    Kind.TIME: (format_time, load_time),
    Kind.TAGS: (dumps, _tags),
    Kind.OBJECT: (dumps, _json),
    Kind.FLAG: (_flag, _load_flag),
}
_OPTIONAL: dict[Kind, tuple[Convert, Convert]] = {
    # for a field that may be None (it stays None)
    Kind.TEXT: (None, None),
    Kind.INTEGER: (None, None),
    Kind.TIME: (NoneOr(format_time), NoneOr(load_time)),
    Kind.FLAG: (NoneOr(int), NoneOr(bool)),
}


def _dumper(field: Field) -> Convert:
    """How a value of ``field`` becomes its column's."""
    return (_OPTIONAL if field.optional else _STORED)[field.kind][0]


def _loader(field: Field) -> Convert:
    """How ``field``'s column becomes its value."""
    return (_OPTIONAL if field.optional else _STORED)[field.kind][1]


_CLOCK_START = len(TICKET_FIELDS)
_CREATED_AT = COLUMNS.index("created_at")
_CLOSED_AT = COLUMNS.index("closed_at")
_READ_ONCE = ("created_at", "closed_at")
"""Read from the row before the ticket is built: its clock and its SLA need them too."""

_clock_of = call_maker(
    "clock_of",
    SlaClock,
    [
        *((f.name, f"o[{_CLOCK_START + i}]", _loader(f)) for i, f in enumerate(CLOCK_FIELDS)),
        ("started_at", "created_at", None),
    ],
    params=["created_at"],
)
_ticket_of = call_maker(
    "ticket_of",
    Ticket,
    [
        *(
            (f.name, f"o[{i}]", _loader(f))
            for i, f in enumerate(TICKET_FIELDS)
            if f.name not in _READ_ONCE
        ),
        *((name, name, None) for name in (*_READ_ONCE, "clock", "sla")),
        ("assigned_name", "o[-1]", None),
    ],
    params=[*_READ_ONCE, "clock", "sla"],
)
_ticket_columns = tuple_maker(
    "ticket_columns", [(f.name, f"o.{f.name}", _dumper(f)) for f in TICKET_FIELDS]
)
_clock_columns = tuple_maker(
    "clock_columns", [(f.name, f"o.{f.name}", _dumper(f)) for f in CLOCK_FIELDS]
)


# -- tickets --------------------------------------------------------------------------


def ticket_from_row(row: Sequence[Any], view: SlaView | None = None) -> Ticket:
    """A ticket from a row of :data:`SELECT` (its columns, then the agent's name); with
    ``view``, its ``sla`` is filled in too (cheaper than reading it in afterwards)."""
    created, closed = load_time(row[_CREATED_AT]), load_optional(row[_CLOSED_AT])
    clock = _clock_of(row, created)
    sla = None if view is None else view(clock, closed)
    return _ticket_of(row, created, closed, clock, sla)


def ticket_to_row(ticket: Ticket) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS` for a ticket."""
    clock = ticket.clock
    return (
        *_ticket_columns(ticket),
        *_clock_columns(clock),
        format_optional(breach_at(clock)),
    )


def facets(status: Status) -> str:
    """The search index's ``facets`` column for a ticket: a token for its status (so a
    search and a status are answered by the index alone). The SQL of migration 9 makes
    the same token."""
    return "s" + status.value.replace("_", "")


def text_row(ticket: Ticket) -> tuple[int, str, str, str]:
    """A ticket's row of the search index."""
    return (ticket.number, ticket.subject, ticket.description, facets(ticket.status))


def tag_rows(ticket: Ticket) -> list[tuple[str, int, str]]:
    """A ticket's rows of ``ticket_tags``."""
    return [(tag, ticket.number, ticket.status.value) for tag in ticket.tags]


# -- states ---------------------------------------------------------------------------

StateRow = tuple[int, int, int, "int | None", str, int, int, int]
"""A row of ``ticket_states``: number, version, began, ended, status, priority, resolves,
closes (times in Unix seconds)."""


def state_row(
    number: int, version: int, at: datetime, status: str, priority: int, old: str | None
) -> StateRow:
    """The row of the state a write began at ``at`` (:func:`~ayra_tickets.storage.
    consistency.stretch`); ``old`` is the status before it (``None`` for a new ticket)."""
    return state_to_row(stretch(number, version, at, status, priority, old))


def state_from_row(row: Sequence[Any]) -> Stretch:
    """A state from its ``ticket_states`` row (times in Unix seconds)."""
    number, version, began, ended, status, priority, resolves, closes = row
    return Stretch(
        number,
        version,
        datetime.fromtimestamp(began, UTC),
        None if ended is None else datetime.fromtimestamp(ended, UTC),
        status,
        priority,
        bool(resolves),
        bool(closes),
    )


def state_to_row(state: Stretch) -> StateRow:
    """A state's ``ticket_states`` row, for :data:`INSERT_STATE`."""
    ended = None if state.ended is None else int(state.ended.timestamp())
    return (
        state.ticket_number,
        state.version,
        int(state.began.timestamp()),
        ended,
        state.status,
        state.priority,
        int(state.resolves),
        int(state.closes),
    )


def first_state(ticket: Ticket) -> StateRow:
    """A new ticket's first row of ``ticket_states``."""
    return state_row(
        ticket.number, ticket.version, ticket.created_at, str(ticket.status), ticket.priority, None
    )


def states_from_log(conn: Any) -> list[StateRow]:
    """What ``ticket_states`` holds, derived again from the event log (by ticket, then
    version): for upgrading a file, and for checking the table against the log."""
    return state_rows(
        conn.execute(
            "SELECT ticket_number, version, type, field, old_value, new_value, data, created_at"
            " FROM ticket_events WHERE type = 'created' OR field IN ('status', 'priority')"
            " ORDER BY ticket_number, id"
        )
    )


def state_rows(events: Iterable[Sequence[Any]]) -> list[StateRow]:
    """``ticket_states`` rebuilt from the log (:func:`~ayra_tickets.storage.consistency.
    stretches`): ``events`` are (number, version, type, field, old_value, new_value, data,
    created_at) rows of the created, status and priority events, by ticket and then in
    order."""
    return [
        state_to_row(found)
        for number, rows in itertools.groupby(events, key=lambda row: row[0])
        for found in stretches(number, (_state_event(row) for row in rows))
    ]


def _state_event(row: Sequence[Any]) -> Event:
    """A created, status or priority event of :func:`state_rows`, with what a stretch
    reads of it."""
    _, version, kind, field, _old, new, data, at = row
    return Event(
        kind,
        load_time(at),
        version,
        field=field,
        new=None if new is None else json.loads(new),
        data=None if data is None else json.loads(data),
    )


# -- events ---------------------------------------------------------------------------


def event_from_row(row: Sequence[Any]) -> Event:
    """An event from its ``ticket_events`` row (id, ticket id, version, type, field, old,
    new, data, created_at)."""
    event_id, ticket_id, version, kind, field, old, new, data, created_at = row
    return Event(
        type=kind,
        at=load_time(created_at),
        version=version,
        field=field,
        old=None if old is None else json.loads(old),
        new=None if new is None else json.loads(new),
        data=None if data is None else json.loads(data),
        ticket_id=ticket_id,
        id=event_id,
    )


def event_rows(
    events: Iterable[tuple[int, Event]], *, with_id: bool = False
) -> list[tuple[Any, ...]]:
    """The ``ticket_events`` rows of ``(ticket number, event)`` pairs, for
    :data:`INSERT_EVENT` (``with_id``: led by the event's id, for
    :data:`INSERT_EVENT_WITH_ID`)."""
    # Events may share their data (an import's SLA events do): each object is encoded
    # once, keyed by identity, which is safe while ``pairs`` holds them all.
    pairs = list(events)
    encoded: dict[int, str] = {}

    def data(value: Any) -> str | None:
        if value is None:
            return None
        text = encoded.get(id(value))
        if text is None:
            text = encoded[id(value)] = dumps(value)
        return text

    ids = (lambda event: (event.id,)) if with_id else (lambda event: ())
    return [
        (
            *ids(event),
            number,
            event.ticket_id,
            event.version,
            event.type,
            event.field,
            None if event.field is None else dumps(event.old),
            None if event.field is None else dumps(event.new),
            data(event.data),
            format_time(event.at),
        )
        for number, event in pairs
    ]
