"""A ticket's rows in PostgreSQL: the columns, the converters and the statements that
write and read them, and the rows beside it (its tags, its states, its events).

As on SQLite (``storage/sqlite/rows.py``), the columns and the converters are derived
from the field table (:mod:`ayra_tickets.domain.fields`), each
:class:`~ayra_tickets.domain.fields.Kind` mapped to one PostgreSQL type: times are
``timestamptz`` (psycopg gives and takes aware datetimes; the connection's time zone is
UTC), tags ``text[]``, flags ``boolean``, and objects ``json``: the text as written, so
that ``custom_fields`` and ``metadata`` come back with their keys in the order they were
sent (``jsonb`` would reorder them; see the package's notes). The search words are one
more column, ``search`` (a ``tsvector``, see :mod:`.search`), written with the ticket.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ...domain.fields import (
    CLOCK_FIELDS,
    TICKET_FIELDS,
    Convert,
    Field,
    Kind,
    call_maker,
    tuple_maker,
)
from ...domain.lifecycle import Status
from ...domain.sla import SlaClock, breach_at
from ...domain.ticket import Event, Ticket
from ...domain.times import format_optional, load_optional
from ..consistency import Stretch, stretch
from ..port import SlaView
from . import search

COLUMNS: tuple[str, ...] = (
    *(field.name for field in TICKET_FIELDS),
    *(f"sla_{field.name}" for field in CLOCK_FIELDS),
    "sla_breach_at",
)
"""The ticket's columns (as on SQLite): its fields, its SLA clock's, and the breach
instant derived from the clock. (``search`` is written beside them, never read back.)"""

_JSON_COLUMNS = frozenset(
    field.name for field in TICKET_FIELDS if field.kind is Kind.OBJECT
)  # custom_fields, metadata


def _placeholder(name: str) -> str:
    return "%s::json" if name in _JSON_COLUMNS else "%s"


SELECT = (
    "SELECT "
    + ", ".join(f"t.{name}" for name in COLUMNS)
    + ", a.name FROM tickets t LEFT JOIN agents a ON a.id = t.assigned_to"
)
"""A ticket's row and its assignee's name (what :func:`ticket_from_row` reads)."""
SELECT_BY_ID = f"{SELECT} WHERE t.id = %s"
SELECT_BY_NUMBER = f"{SELECT} WHERE t.number = %s"
INSERT = (
    f"INSERT INTO tickets ({', '.join(COLUMNS)}, search)"
    f" VALUES ({', '.join(_placeholder(name) for name in COLUMNS)}, %s::tsvector)"
)
UPDATE = (
    "UPDATE tickets SET "
    + ", ".join(f"{name} = {_placeholder(name)}" for name in COLUMNS[2:])
    + " WHERE number = %s AND version = %s"
)
"""A ticket's row over the one it was read from: the values of ``COLUMNS[2:]``, then its
number and the version it was read at (a versioned update)."""
UPDATE_WITH_TEXT = UPDATE.replace(" WHERE ", ", search = %s::tsvector WHERE ", 1)
"""As :data:`UPDATE`, with the ticket's new search words after its columns."""
COPY_TICKETS = f"COPY tickets ({', '.join(COLUMNS)}, search) FROM STDIN"

INSERT_TAG = "INSERT INTO ticket_tags (tag, ticket_number, status) VALUES (%s, %s, %s)"
COPY_TAGS = "COPY ticket_tags (tag, ticket_number, status) FROM STDIN"
_STATE_COLUMNS = "ticket_number, version, began, ended, status, priority, resolves, closes"
INSERT_STATE = f"INSERT INTO ticket_states ({_STATE_COLUMNS}) VALUES ({', '.join(['%s'] * 8)})"
COPY_STATES = f"COPY ticket_states ({_STATE_COLUMNS}) FROM STDIN"
END_STATE = "UPDATE ticket_states SET ended = %s WHERE ticket_number = %s AND ended IS NULL"
_EVENT_COLUMNS = (
    "ticket_number, ticket_id, version, type, field, old_value, new_value, data, created_at"
)
INSERT_EVENT = (
    f"INSERT INTO ticket_events ({_EVENT_COLUMNS})"
    " VALUES (%s, %s, %s, %s, %s, %s::json, %s::json, %s::json, %s)"
)
COPY_EVENTS = f"COPY ticket_events ({_EVENT_COLUMNS}) FROM STDIN"
COPY_EVENTS_WITH_ID = f"COPY ticket_events (id, {_EVENT_COLUMNS}) FROM STDIN"
"""Events as stored elsewhere, their ids kept (a copy): the id, then :data:`COPY_EVENTS`'s."""
_SELECTED_EVENT = "id, ticket_id, version, type, field, old_value, new_value, data, created_at"
SELECT_EVENTS = f"SELECT {_SELECTED_EVENT} FROM ticket_events WHERE ticket_number = %s ORDER BY id"
SELECT_EVENTS_BETWEEN = (
    f"SELECT ticket_number, {_SELECTED_EVENT} FROM ticket_events"
    " WHERE ticket_number BETWEEN %s AND %s ORDER BY ticket_number, id"
)
"""The events of a range of tickets, each row led by its ticket's number."""
SELECT_STATES_BETWEEN = (
    f"SELECT {_STATE_COLUMNS} FROM ticket_states"
    " WHERE ticket_number BETWEEN %s AND %s ORDER BY ticket_number, version"
)
FOLLOW_EVENT_IDS = (
    "SELECT setval(pg_get_serial_sequence('ticket_events', 'id'), last)"
    " FROM (SELECT max(id) AS last FROM ticket_events) AS events WHERE last IS NOT NULL"
)
"""The next event's id after the highest stored (after events were written with theirs)."""


# -- values ---------------------------------------------------------------------------

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(value: Any) -> str:
    """A JSON value's text, as stored (compact, as on SQLite)."""
    return _ENCODE(value)


_STATUSES = {str(status): status for status in Status}

_STORED: dict[Kind, tuple[Convert, Convert]] = {
    # kind: (to the column, from the column), for a field that is never None
    Kind.NUMBER: (None, None),
    Kind.TEXT: (None, None),
    Kind.INTEGER: (int, None),
    Kind.STATUS: (str, _STATUSES.__getitem__),
    Kind.TIME: (None, None),  # aware UTC datetimes both ways
    Kind.TAGS: (list, tuple),
    Kind.OBJECT: (dumps, None),  # json text in, a dict out (psycopg reads json)
    Kind.FLAG: (None, None),
}
_OPTIONAL: dict[Kind, tuple[Convert, Convert]] = {
    Kind.TEXT: (None, None),
    Kind.INTEGER: (None, None),
    Kind.TIME: (None, None),
    Kind.FLAG: (None, None),
}


def _dumper(field: Field) -> Convert:
    return (_OPTIONAL if field.optional else _STORED)[field.kind][0]


def _loader(field: Field) -> Convert:
    return (_OPTIONAL if field.optional else _STORED)[field.kind][1]


_CLOCK_START = len(TICKET_FIELDS)
_CREATED_AT = COLUMNS.index("created_at")
_CLOSED_AT = COLUMNS.index("closed_at")
_READ_ONCE = ("created_at", "closed_at")

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
    ``view``, its ``sla`` is filled in too."""
    created, closed = row[_CREATED_AT], row[_CLOSED_AT]
    clock = _clock_of(row, created)
    sla = None if view is None else view(clock, closed)
    return _ticket_of(row, created, closed, clock, sla)


def ticket_to_row(ticket: Ticket) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS` for a ticket."""
    clock = ticket.clock
    return (*_ticket_columns(ticket), *_clock_columns(clock), breach_at(clock))


def document(ticket: Ticket) -> str:
    """A ticket's ``search`` column (a ``tsvector`` literal)."""
    return search.document(ticket.subject, ticket.description)


# A ticket row as JSON (an idempotency key's remembered answer): times as RFC 3339 text,
# tags as a list, objects as they are; read back column by column.
_TIME_COLUMNS = frozenset(
    i for i, field in enumerate((*TICKET_FIELDS, *CLOCK_FIELDS)) if field.kind is Kind.TIME
) | {len(COLUMNS) - 1}  # sla_breach_at
_TAG_COLUMNS = frozenset(i for i, field in enumerate(TICKET_FIELDS) if field.kind is Kind.TAGS)


def row_to_json(row: Sequence[Any]) -> str:
    """A row of :data:`COLUMNS` (as :func:`ticket_to_row` made it) as JSON text."""
    plain = [
        format_optional(value)
        if i in _TIME_COLUMNS
        else json.loads(value)
        if COLUMNS[i] in _JSON_COLUMNS
        else value
        for i, value in enumerate(row)
    ]
    return dumps(plain)


def row_from_json(values: Sequence[Any]) -> list[Any]:
    """A row of :data:`COLUMNS` from what :func:`row_to_json` wrote (read as JSON)."""
    return [
        load_optional(value) if i in _TIME_COLUMNS else tuple(value) if i in _TAG_COLUMNS else value
        for i, value in enumerate(values)
    ]


def tag_rows(ticket: Ticket) -> list[tuple[str, int, str]]:
    """A ticket's rows of ``ticket_tags``."""
    return [(tag, ticket.number, ticket.status.value) for tag in ticket.tags]


# -- states ---------------------------------------------------------------------------

StateRow = tuple[int, int, datetime, "datetime | None", str, int, bool, bool]
"""A row of ``ticket_states``: number, version, began, ended, status, priority, resolves,
closes."""


def state_row(
    number: int, version: int, at: datetime, status: str, priority: int, old: str | None
) -> StateRow:
    """The row of the state a write began at ``at`` (:func:`~ayra_tickets.storage.
    consistency.stretch`); ``old`` is the status before it (``None`` for a new ticket)."""
    return state_to_row(stretch(number, version, at, status, priority, old))


def state_from_row(row: Sequence[Any]) -> Stretch:
    """A state from its ``ticket_states`` row."""
    return Stretch(*row)


def state_to_row(state: Stretch) -> StateRow:
    """A state's ``ticket_states`` row, for :data:`INSERT_STATE` and :data:`COPY_STATES`
    (the columns are the stretch's, in its order)."""
    return tuple(state)  # type: ignore[return-value]


def first_state(ticket: Ticket) -> StateRow:
    """A new ticket's first row of ``ticket_states``."""
    return state_row(
        ticket.number, ticket.version, ticket.created_at, str(ticket.status), ticket.priority, None
    )


# -- events ---------------------------------------------------------------------------


def event_from_row(row: Sequence[Any]) -> Event:
    """An event from its ``ticket_events`` row (psycopg has read the json values)."""
    event_id, ticket_id, version, kind, field, old, new, data, created_at = row
    return Event(
        type=kind,
        at=created_at,
        version=version,
        field=field,
        old=old,
        new=new,
        data=data,
        ticket_id=ticket_id,
        id=event_id,
    )


def event_rows(
    events: Iterable[tuple[int, Event]], *, with_id: bool = False
) -> list[tuple[Any, ...]]:
    """The ``ticket_events`` rows of ``(ticket number, event)`` pairs, for
    :data:`INSERT_EVENT` and :data:`COPY_EVENTS` (values as JSON text; ``with_id``: led
    by the event's id, for :data:`COPY_EVENTS_WITH_ID`)."""
    pairs = list(events)
    encoded: dict[int, str] = {}  # shared data encoded once (as on SQLite)

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
            event.at,
        )
        for number, event in pairs
    ]


# -- what a write writes --------------------------------------------------------------


class NewRows(NamedTuple):
    """What a create writes: the ticket's values for :data:`INSERT` (its columns, then its
    search words), its tag rows, its first state and its events' rows."""

    ticket: tuple[Any, ...]
    tags: list[tuple[str, int, str]]
    state: StateRow
    events: list[tuple[Any, ...]]


def new_rows(ticket: Ticket, events: Iterable[Event]) -> NewRows:
    """The rows of a new ticket and the events that made it."""
    return NewRows(
        (*ticket_to_row(ticket), document(ticket)),
        tag_rows(ticket),
        first_state(ticket),
        event_rows((ticket.number, event) for event in events),
    )


class ChangeRows(NamedTuple):
    """What a change writes: the versioned update (:data:`UPDATE`, or
    :data:`UPDATE_WITH_TEXT` when the text changed, and its parameters), the ticket's tag
    rows when they are rewritten (``None``: kept), the state it begins when its status or
    priority moved (``None``: kept; the one before ends when it begins), and its events'
    rows."""

    update: tuple[str, tuple[Any, ...]]
    tags: list[tuple[str, int, str]] | None
    state: StateRow | None
    events: list[tuple[Any, ...]]


def change_rows(before: Ticket, after: Ticket, events: Sequence[Event]) -> ChangeRows:
    """The rows that write ``after`` over ``before`` (read at ``before.version``)."""
    row = ticket_to_row(after)
    if (before.subject, before.description) != (after.subject, after.description):
        update = (UPDATE_WITH_TEXT, (*row[2:], document(after), after.number, before.version))
    else:
        update = (UPDATE, (*row[2:], after.number, before.version))
    tags = tag_rows(after) if (before.tags, before.status) != (after.tags, after.status) else None
    state = None
    if (before.status, before.priority) != (after.status, after.priority):
        at = next((e.at for e in events if e.field in ("status", "priority")), after.updated_at)
        state = state_row(
            after.number, after.version, at, str(after.status), after.priority, str(before.status)
        )
    return ChangeRows(update, tags, state, event_rows((after.number, e) for e in events))
