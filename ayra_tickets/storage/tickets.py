"""The ticket repository: tickets, their tags and their events in SQLite.

Rows become :class:`~ayra_tickets.domain.Ticket` values only through
:func:`ticket_from_row`; the table's shape and the domain's are free to differ.
"""

from __future__ import annotations

import builtins
import functools
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from ..domain.lifecycle import Status
from ..domain.paging import Cursor
from ..domain.sla import Sla, SlaClock, breach_at
from ..domain.ticket import Event, Ticket
from ..domain.times import format_optional, format_time, load_optional, load_time
from ..domain.validation import ListQuery

_COLUMNS = (
    "number",
    "id",
    "subject",
    "description",
    "priority",
    "status",
    "category",
    "contact_id",
    "conversation_id",
    "assigned_to",
    "due_date",
    "tags",
    "custom_fields",
    "metadata",
    "resolution_note",
    "customer_satisfaction",
    "resolution_time",
    "root_cause",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "reopened_count",
    "version",
    "created_at",
    "updated_at",
    "sla_policy",
    "sla_response_target",
    "sla_resolution_target",
    "sla_response_due_at",
    "sla_resolution_due_at",
    "sla_paused_since",
    "sla_paused_seconds",
    "sla_response_met",
    "sla_resolution_met",
    "sla_resolution_missed_at",
    "sla_breach_at",
)
_SELECT = (
    "SELECT "
    + ", ".join(f"t.{name}" for name in _COLUMNS)
    + ", a.name FROM tickets t LEFT JOIN agents a ON a.id = t.assigned_to"
)
# A tag row carries its ticket's status too, so that a tag and a status are counted from
# one index (ticket_tags_by_tag_status).
_INSERT_TAG = "INSERT INTO ticket_tags (tag, ticket_number, status) VALUES (?, ?, ?)"


_DEFERRED_INDEXES = "deferred_indexes"
"""The ``settings`` key under which indexes dropped for an import wait to be rebuilt."""


def restore_deferred_indexes(conn: sqlite3.Connection) -> bool:
    """Build the indexes an import dropped and has not rebuilt yet (it was stopped, or
    still runs), in the caller's transaction; whether there were any."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (_DEFERRED_INDEXES,)).fetchone()
    if row is None:
        return False
    for name, sql in json.loads(row[0]):
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
        ).fetchone()
        if exists is None:
            conn.execute(sql)
    conn.execute("DELETE FROM settings WHERE key = ?", (_DEFERRED_INDEXES,))
    return True


def _tag_rows(ticket: Ticket) -> list[tuple[str, int, str]]:
    return [(tag, ticket.number, ticket.status.value) for tag in ticket.tags]


_SELECT_BY_TEXT = (
    "SELECT "
    + ", ".join(f"t.{name}" for name in _COLUMNS)
    + ", a.name FROM tickets_fts JOIN tickets t ON t.number = tickets_fts.rowid"
    + " LEFT JOIN agents a ON a.id = t.assigned_to"
)
_INSERT = f"INSERT INTO tickets ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
# The full-text index (an external-content FTS5 table made by sqlite-utils) is written
# here, with the tickets: through triggers it cost milliseconds a row on big tables.
_INDEX_TEXT = "INSERT INTO tickets_fts (rowid, subject, description, facets) VALUES (?, ?, ?, ?)"
_UNINDEX_TEXT = (
    "INSERT INTO tickets_fts (tickets_fts, rowid, subject, description, facets)"
    " VALUES ('delete', ?, ?, ?, ?)"
)


def facets(status: Status) -> str:
    """The search index's ``facets`` column for a ticket: a token for its status (so a
    search and a status are answered by the index alone). The SQL of migration 9 makes
    the same token."""
    return "s" + status.value.replace("_", "")


def text_row(ticket: Ticket) -> tuple[int, str, str, str]:
    """A ticket's row of the search index."""
    return (ticket.number, ticket.subject, ticket.description, facets(ticket.status))


_UPDATE = (
    "UPDATE tickets SET " + ", ".join(f"{name} = ?" for name in _COLUMNS[2:]) + " WHERE number = ?"
)


_SORT_COLUMNS = {
    "created_at": "t.created_at",
    "updated_at": "t.updated_at",
    "due_date": "t.due_date",
    "priority": "t.priority",
}


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _dumps(value: Any) -> str:
    return _ENCODE(value) if value else ("{}" if isinstance(value, dict) else _ENCODE(value))


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


_STATUSES = {str(status): status for status in Status}


def _json(text: str) -> Any:
    return {} if text == "{}" else json.loads(text)


@functools.lru_cache(maxsize=1024)
def _tags(text: str) -> tuple[str, ...]:
    """A ticket's tags from their column: few sets recur on many tickets, and a tuple can
    be shared."""
    return tuple(json.loads(text))


Statement = tuple[str, list[Any]]
"""SQL and its parameters."""

SlaView = Callable[[SlaClock, "datetime | None"], Sla]
"""How a ticket's SLA reads, from its clock and its ``closed_at`` (the service knows the
moment and the calendars)."""


_INSERT_STATE = (
    "INSERT INTO ticket_states (ticket_number, version, began, ended, status, priority,"
    " resolves, closes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_END_STATE = "UPDATE ticket_states SET ended = ? WHERE ticket_number = ? AND ended IS NULL"

StateRow = tuple[int, int, int, "int | None", str, int, int, int]
"""A row of ``ticket_states``: number, version, began, ended, status, priority, resolves,
closes (times in Unix seconds)."""


def _state(
    number: int, version: int, at: datetime, status: str, priority: int, old: str | None
) -> StateRow:
    """The state a write began at ``at``; ``old`` is the status before it (``None`` for
    a new ticket). A move to resolved resolves the ticket, and so does closing one that
    was not resolved (as the figures count resolutions)."""
    moved = old is not None and old != status
    resolves = moved and (status == "resolved" or (status == "closed" and old != "resolved"))
    closes = moved and status == "closed"
    return (
        number,
        version,
        int(at.timestamp()),
        None,
        status,
        priority,
        int(resolves),
        int(closes),
    )


def states_from_log(conn: sqlite3.Connection) -> list[StateRow]:
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
    """``ticket_states`` rebuilt from the log: ``events`` are (number, version, type,
    field, old_value, new_value, data, created_at) rows of the created, status and
    priority events, by ticket and then in order."""
    rows: list[StateRow] = []
    for number, version, kind, field, _old, new, data, at in events:
        began = load_time(at)
        if kind == "created":
            created = json.loads(data)
            rows.append(
                _state(number, version, began, created["status"], created["priority"], None)
            )
            continue
        last = rows[-1]
        if last[0] != number:
            continue  # a ticket without its created event: nothing to start from
        status, priority = last[4], last[5]
        value = json.loads(new)
        if field == "status":
            status = value
        else:
            priority = value
        if last[1] == version:  # another change of the same write
            old = rows[-2][4] if len(rows) > 1 and rows[-2][0] == number else None
            rows[-1] = _state(number, version, began, status, priority, old)
        else:
            rows[-1] = (*last[:3], int(began.timestamp()), *last[4:])
            rows.append(_state(number, version, began, status, priority, last[4]))
    return rows


def ticket_from_row(row: Sequence[Any], view: SlaView | None = None) -> Ticket:
    """A ticket from a row of ``_SELECT`` (its columns, then the agent's name); with
    ``view``, its ``sla`` is filled in too (cheaper than reading it in afterwards)."""
    (
        number, ticket_id, subject, description, priority, status, category, contact_id,
        conversation_id, assigned_to, due_date, tags, custom_fields, metadata,
        resolution_note, customer_satisfaction, resolution_time, root_cause,
        first_response_at, resolved_at, closed_at, reopened_count, version, created_at,
        updated_at, sla_policy, response_target, resolution_target, response_due_at,
        resolution_due_at, paused_since, paused_seconds, response_met, resolution_met,
        resolution_missed_at, _breach_at, assigned_name,
    ) = row  # fmt: skip
    created = load_time(created_at)
    closed = load_optional(closed_at)
    clock = SlaClock(
        policy=sla_policy,
        started_at=created,
        response_target=response_target,
        resolution_target=resolution_target,
        response_due_at=load_time(response_due_at),
        resolution_due_at=load_time(resolution_due_at),
        paused_since=load_optional(paused_since),
        paused_seconds=paused_seconds,
        response_met=None if response_met is None else bool(response_met),
        resolution_met=None if resolution_met is None else bool(resolution_met),
        resolution_missed_at=load_optional(resolution_missed_at),
    )
    return Ticket(
        id=ticket_id,
        number=number,
        subject=subject,
        description=description,
        priority=priority,
        status=_STATUSES[status],
        created_at=created,
        updated_at=load_time(updated_at),
        clock=clock,
        category=category,
        contact_id=contact_id,
        conversation_id=conversation_id,
        assigned_to=assigned_to,
        due_date=load_optional(due_date),
        tags=_tags(tags),
        custom_fields=_json(custom_fields),
        metadata=_json(metadata),
        resolution_note=resolution_note,
        customer_satisfaction=customer_satisfaction,
        resolution_time=resolution_time,
        root_cause=root_cause,
        first_response_at=load_optional(first_response_at),
        resolved_at=load_optional(resolved_at),
        closed_at=closed,
        reopened_count=reopened_count,
        version=version,
        assigned_name=assigned_name,
        sla=None if view is None else view(clock, closed),
    )


def _first_state(ticket: Ticket) -> StateRow:
    return _state(
        ticket.number, ticket.version, ticket.created_at, str(ticket.status), ticket.priority, None
    )


def ticket_to_row(ticket: Ticket) -> tuple[Any, ...]:
    """The values of ``_COLUMNS`` for a ticket."""
    clock = ticket.clock
    return (
        ticket.number,
        ticket.id,
        ticket.subject,
        ticket.description,
        int(ticket.priority),
        str(ticket.status),
        ticket.category,
        ticket.contact_id,
        ticket.conversation_id,
        ticket.assigned_to,
        format_optional(ticket.due_date),
        _dumps(ticket.tags),
        _dumps(ticket.custom_fields),
        _dumps(ticket.metadata),
        ticket.resolution_note,
        ticket.customer_satisfaction,
        ticket.resolution_time,
        ticket.root_cause,
        format_optional(ticket.first_response_at),
        format_optional(ticket.resolved_at),
        format_optional(ticket.closed_at),
        ticket.reopened_count,
        ticket.version,
        format_time(ticket.created_at),
        format_time(ticket.updated_at),
        clock.policy,
        clock.response_target,
        clock.resolution_target,
        format_time(clock.response_due_at),
        format_time(clock.resolution_due_at),
        format_optional(clock.paused_since),
        clock.paused_seconds,
        _flag(clock.response_met),
        _flag(clock.resolution_met),
        format_optional(clock.resolution_missed_at),
        format_optional(breach_at(clock)),
    )


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


class TicketStore:
    """Reads and writes tickets. The caller owns the transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn = db.conn
        self._sorting: dict[str, bool] = {}
        self._by_number: bool | None = None

    def remembered(self, owner: str, key: str, since: datetime) -> tuple[str, Ticket] | None:
        """The request fingerprint and the ticket a create by ``owner`` (an API key's id,
        or '' for Python calls) with this idempotency key made, if it was made at
        ``since`` or later. Another owner's use of the same key is not seen."""
        row = self._conn.execute(
            "SELECT request, ticket_row, assigned_name FROM idempotency_keys"
            " WHERE owner = ? AND key = ? AND created_at >= ?",
            (owner, key, format_time(since)),
        ).fetchone()
        if row is None:
            return None
        request, ticket_row, assigned_name = row
        return request, ticket_from_row([*json.loads(ticket_row), assigned_name])

    def remember(self, owner: str, key: str, request: str, ticket: Ticket, now: datetime) -> None:
        """Keep what a create by ``owner`` with this idempotency key made (replacing an
        expired use)."""
        self._conn.execute(
            "INSERT OR REPLACE INTO idempotency_keys"
            " (owner, key, request, ticket_row, assigned_name, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (owner, key, request, _ENCODE(ticket_to_row(ticket)), ticket.assigned_name,
             format_time(now)),
        )  # fmt: skip

    def forget_keys_before(self, cutoff: datetime) -> None:
        self._conn.execute(
            "DELETE FROM idempotency_keys WHERE created_at < ?", (format_time(cutoff),)
        )

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these ticket ids are taken."""
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ", ".join("?" for _ in part)
            rows = self._conn.execute(f"SELECT id FROM tickets WHERE id IN ({marks})", part)
            found.update(row[0] for row in rows)
        return found

    def forget(self) -> None:
        """Drop what this store remembers of the file (after it was emptied)."""
        self._sorting.clear()
        self._by_number = None

    def next_number(self) -> tuple[int, datetime | None]:
        """The next ticket's number, and when the last ticket was created (a new one is
        never created before it: creation times follow numbers, see ``by_number``)."""
        row = self._conn.execute(
            "SELECT number, created_at FROM tickets ORDER BY number DESC LIMIT 1"
        ).fetchone()
        return (1, None) if row is None else (row[0] + 1, load_time(row[1]))

    @property
    def by_number(self) -> bool:
        """Whether creation times never decrease with numbers in this database, so that
        newest-first is highest-number-first. It holds for every ticket this release
        creates; a database whose older tickets break it says so in ``settings``."""
        if self._by_number is None:
            row = self._conn.execute(
                "SELECT value FROM settings WHERE key = 'created_in_number_order'"
            ).fetchone()
            self._by_number = row is not None and row[0] == "1"
        return self._by_number

    def insert(self, ticket: Ticket, events: Iterable[Event]) -> None:
        self._conn.execute(_INSERT, ticket_to_row(ticket))
        self._conn.execute(_INDEX_TEXT, text_row(ticket))
        self._conn.executemany(_INSERT_TAG, _tag_rows(ticket))
        self._conn.execute(_INSERT_STATE, _first_state(ticket))
        self._append(ticket.number, events)

    def insert_many(self, built: Sequence[tuple[Ticket, Sequence[Event]]]) -> None:
        """Insert many new tickets with their events, in as few statements as possible."""
        self._conn.executemany(_INSERT, [ticket_to_row(ticket) for ticket, _ in built])
        self._conn.executemany(_INDEX_TEXT, [text_row(ticket) for ticket, _ in built])
        self._conn.executemany(
            _INSERT_TAG, [row for ticket, _ in built for row in _tag_rows(ticket)]
        )
        self._conn.executemany(_INSERT_STATE, [_first_state(ticket) for ticket, _ in built])
        self._append_many((ticket.number, event) for ticket, events in built for event in events)

    def defer_indexes(self) -> None:
        """Drop the tickets' secondary indexes for a big import, which then writes only
        the rows, to have them built once, sorted, by :meth:`restore_indexes` (much
        cheaper than updating them a row at a time). Their definitions are kept in
        ``settings`` in the same transaction, so that they come back even if the import
        never finishes (see :func:`restore_deferred_indexes`). Reads meanwhile are right,
        only slower."""
        indexes = self._conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'tickets' AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
        self._conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)",
            (_DEFERRED_INDEXES, json.dumps(indexes)),
        )
        for name, _ in indexes:
            self._conn.execute(f'DROP INDEX "{name}"')

    def analyze(self) -> None:
        """Refresh the query planner's statistics (after an import changed the shape)."""
        self._conn.execute("ANALYZE")

    def restore_indexes(self) -> None:
        """Build the indexes :meth:`defer_indexes` dropped, if any are pending."""
        restore_deferred_indexes(self._conn)
        self._sorting.clear()  # the planner's answers may have changed with them

    def scan(
        self, query: ListQuery, now: datetime, after: int, limit: int, view: SlaView | None = None
    ) -> list[Ticket]:
        """Up to ``limit`` tickets matching ``query``'s filters with a number above
        ``after``, in number order: the steps of an export."""
        where, params = _where(query, now)
        where = f"{where} AND t.number > ?" if where else " WHERE t.number > ?"
        rows = self._conn.execute(
            f"{_SELECT}{where} ORDER BY t.number LIMIT ?", [*params, after, limit]
        )
        return [ticket_from_row(row, view) for row in rows]

    def save(self, before: Ticket, after: Ticket, events: Iterable[Event]) -> None:
        row = ticket_to_row(after)
        self._conn.execute(_UPDATE, (*row[2:], after.number))
        if text_row(before) != text_row(after):
            self._conn.execute(_UNINDEX_TEXT, text_row(before))
            self._conn.execute(_INDEX_TEXT, text_row(after))
        if (before.tags, before.status) != (after.tags, after.status):
            self._conn.execute("DELETE FROM ticket_tags WHERE ticket_number = ?", (after.number,))
            self._conn.executemany(_INSERT_TAG, _tag_rows(after))
        events = list(events)
        if (before.status, before.priority) != (after.status, after.priority):
            at = next((e.at for e in events if e.field in ("status", "priority")), after.updated_at)
            self._conn.execute(_END_STATE, (int(at.timestamp()), after.number))
            self._conn.execute(
                _INSERT_STATE,
                _state(
                    after.number,
                    after.version,
                    at,
                    str(after.status),
                    after.priority,
                    str(before.status),
                ),
            )
        self._append(after.number, events)

    def _append(self, number: int, events: Iterable[Event]) -> None:
        self._append_many((number, event) for event in events)

    def _append_many(self, events: Iterable[tuple[int, Event]]) -> None:
        """Append ``(ticket number, event)`` pairs to the log."""
        # Events may share their data (an import's SLA events do): each object is
        # encoded once, keyed by identity, which is safe while ``pairs`` holds them all.
        pairs = list(events)
        encoded: dict[int, str] = {}

        def data(value: Any) -> str | None:
            if value is None:
                return None
            text = encoded.get(id(value))
            if text is None:
                text = encoded[id(value)] = _dumps(value)
            return text

        self._conn.executemany(
            "INSERT INTO ticket_events (ticket_number, ticket_id, version, type, field,"
            " old_value, new_value, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    number,
                    event.ticket_id,
                    event.version,
                    event.type,
                    event.field,
                    None if event.field is None else _dumps(event.old),
                    None if event.field is None else _dumps(event.new),
                    data(event.data),
                    format_time(event.at),
                )
                for number, event in pairs
            ],
        )

    def get(self, ticket_id: str) -> Ticket | None:
        row = self._conn.execute(_SELECT + " WHERE t.id = ?", (ticket_id,)).fetchone()
        return None if row is None else ticket_from_row(row)

    def get_number(self, number: int) -> Ticket | None:
        """The ticket with this number (the table's primary key: one indexed look-up)."""
        row = self._conn.execute(_SELECT + " WHERE t.number = ?", (number,)).fetchone()
        return None if row is None else ticket_from_row(row)

    def events(self, number: int) -> list[Event]:
        """The history of the ticket with this number, oldest first."""
        rows = self._conn.execute(
            "SELECT id, ticket_id, version, type, field, old_value, new_value, data, created_at"
            " FROM ticket_events WHERE ticket_number = ? ORDER BY id",
            (number,),
        )
        return [event_from_row(row) for row in rows]

    def count(self) -> int:
        (total,) = self._conn.execute("SELECT COUNT(*) FROM tickets").fetchone()
        return int(total)

    def after(
        self, query: ListQuery, now: datetime, view: SlaView | None = None
    ) -> tuple[list[Ticket], bool]:
        """The page after ``query.cursor`` by keyset (no counting, no offset), and whether
        more follow."""
        assert query.cursor is not None
        # A lone search reads on along its index (the first page may have done so too:
        # either way the next page is the next numbers down, or up).
        if _lone_filter(query) == "search" and self._text_driven(query):
            where, params = _where(query, now, text_driven=True)
            op = "<" if query.sort_order == "desc" else ">"
            sql = f"{_SELECT_BY_TEXT}{where} AND tickets_fts.rowid {op} ?"
            sql += f" ORDER BY {_order(query, text_driven=True)} LIMIT ?"
            args = [*params, query.cursor.number, query.per_page + 1]
        else:
            where, params = _where(query, now)
            keyset, keys = _keyset(query, query.cursor)
            where = f"{where} AND {keyset}" if where else f" WHERE {keyset}"
            sql = f"{_SELECT}{where} ORDER BY {_order(query)} LIMIT ?"
            args = [*params, *keys, query.per_page + 1]
        rows = self._conn.execute(sql, args).fetchall()
        found = [ticket_from_row(row, view) for row in rows[: query.per_page]]
        return found, len(rows) > query.per_page

    def plans(self, query: ListQuery, now: datetime) -> dict[str, list[str]]:
        """SQLite's plans for the statements a list runs (for tests and tuning)."""
        (count_sql, count_args), page = self._statements(query, now)
        (total,) = self._conn.execute(count_sql, count_args).fetchone()
        page_sql, page_args = page(total)
        return {
            name: [row[-1] for row in self._conn.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
            for name, (sql, args) in {
                "count": (count_sql, count_args),
                "page": (page_sql, [*page_args, query.per_page, 0]),
            }.items()
        }

    def list(
        self, query: ListQuery, now: datetime, view: SlaView | None = None
    ) -> tuple[list[Ticket], int]:
        """One page of tickets matching ``query``, and how many match in all."""
        if _lone_filter(query) == "search" and len(_words(query.search or "")) > 1:
            found = self._search_once(query, now, view)
            if found is not None:
                return found
        (count_sql, count_args), page = self._statements(query, now)
        (total,) = self._conn.execute(count_sql, count_args).fetchone()
        offset = (query.page - 1) * query.per_page
        if offset >= total:
            return [], int(total)
        sql, args = page(total)
        rows = self._conn.execute(sql, [*args, query.per_page, offset])
        return [ticket_from_row(row, view) for row in rows], int(total)

    def _search_once(
        self, query: ListQuery, now: datetime, view: SlaView | None
    ) -> tuple[builtins.list[Ticket], int] | None:
        """A search (and status) read from the search index once, when it matches at most
        ``SEARCH_ONCE`` tickets: the numbers found give the total and the page, where
        counting and paging would evaluate the search twice. Several words match few
        tickets, and each word's prefix costs a pass over its postings. ``None`` when
        there are more."""
        _, (match,) = _where(query, now, text_driven=True)
        numbers = [
            number
            for (number,) in self._conn.execute(
                # ascending: the index's own order, a quarter cheaper than descending
                "SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ? LIMIT ?",
                (match, SEARCH_ONCE + 1),
            )
        ]
        total = len(numbers)
        if total > SEARCH_ONCE:
            return None
        offset = (query.page - 1) * query.per_page
        if offset >= total:
            return [], total
        if query.sort_by == "created_at" and self.by_number:  # newest first is numbers down
            if query.sort_order == "desc":
                numbers.reverse()
            chosen = numbers[offset : offset + query.per_page]
            marks = ", ".join("?" for _ in chosen)
            by_number = {
                row[0]: row
                for row in self._conn.execute(f"{_SELECT} WHERE t.number IN ({marks})", chosen)
            }
            return [ticket_from_row(by_number[number], view) for number in chosen], total
        rows = self._conn.execute(
            f"{_SELECT} WHERE t.number IN (SELECT value FROM json_each(?))"
            f" ORDER BY {_order(query)} LIMIT ? OFFSET ?",
            (json.dumps(numbers), query.per_page, offset),
        )
        return [ticket_from_row(row, view) for row in rows], total

    def _statements(
        self, query: ListQuery, now: datetime
    ) -> tuple[Statement, Callable[[int], Statement]]:
        """The count, and (given the count) the page statement without its LIMIT/OFFSET.

        Few matches (under one ticket in ``WALK_SHARE``) are gathered from the filters'
        indexes and sorted. Many are found by walking an index in the page's order and
        checking each ticket, which stops when the page is full: tags are then probed per
        ticket, and when SQLite would still gather and sort, the other filters are kept
        off their indexes too, or, for a search in creation order, the search index is
        read newest (or oldest) first. Counting a lone tag or a lone search reads only
        that index.
        """
        where, params = _where(query, now)
        lone = _lone_filter(query)
        if lone == "tags":
            count = ("SELECT COUNT(*) FROM ticket_tags WHERE tag = ?", [query.tags[0]])
        elif lone == "tags+status":
            statuses = [str(status) for status in query.status]
            count = (
                "SELECT COUNT(*) FROM ticket_tags WHERE tag = ?"
                f" AND status IN ({', '.join('?' for _ in statuses)})",
                [query.tags[0], *statuses],
            )
        elif lone == "search" and fts_query(query.search or "") is not None:
            count = ("SELECT COUNT(*) FROM tickets_fts WHERE tickets_fts MATCH ?", params)
        else:
            count = (f"SELECT COUNT(*) FROM tickets t{where}", params)

        def page(total: int) -> Statement:
            def statement(where: str) -> str:
                return f"{_SELECT}{where} ORDER BY {_order(query)} LIMIT ? OFFSET ?"

            many = total * WALK_SHARE >= self._size()
            if self._text_driven(query) and (many or lone == "search"):
                clauses, args = _where(query, now, probe_tags=True, text_driven=True)
                order = _order(query, text_driven=True)
                return f"{_SELECT_BY_TEXT}{clauses} ORDER BY {order} LIMIT ? OFFSET ?", args
            if not many:
                return statement(where), params
            sql, args = statement(where), params
            if query.tags:
                clauses, args = _where(query, now, probe_tags=True)
                sql = statement(clauses)
            if query.search is None and self._sorts(sql, args):
                clauses, args = _where(query, now, probe_tags=True, walk=True)
                sql = statement(clauses)
            return sql, args

        return count, page

    def _text_driven(self, query: ListQuery) -> bool:
        """Whether a search's page is read from the search index in number order (newest
        or oldest first, where creation times follow numbers): it stops when full,
        where sorting would gather every match first."""
        return (
            query.search is not None
            and fts_query(query.search) is not None
            and query.sort_by == "created_at"
            and self.by_number
        )

    def _sorts(self, sql: str, args: Sequence[Any]) -> bool:
        """Whether SQLite would gather and sort the matches for this page (asked once per
        statement text; the answer depends on the shape, not the values)."""
        sorts = self._sorting.get(sql)
        if sorts is None:
            plan = self._conn.execute(f"EXPLAIN QUERY PLAN {sql}", [*args, 1, 0]).fetchall()
            sorts = any("TEMP B-TREE FOR ORDER BY" in row[-1] for row in plan)
            if len(self._sorting) >= 512:
                self._sorting.clear()
            self._sorting[sql] = sorts
        return sorts

    def _size(self) -> int:
        """How many tickets there are (numbers are gapless and tickets never deleted)."""
        (last,) = self._conn.execute("SELECT COALESCE(MAX(number), 0) FROM tickets").fetchone()
        return int(last)


WALK_SHARE = 200
"""A tag matching at least one ticket in this many is probed per ticket along the page's
order (about this many probes fill a row of the page) rather than gathered and sorted."""


SEARCH_ONCE = 50_000
"""A search of several words matching at most this many tickets is counted and paged
from one read of the search index (see ``TicketStore._search_once``)."""


def _lone_filter(query: ListQuery) -> str | None:
    """``"tags"`` or ``"search"`` when that is the query's only filter (one tag; a
    search may come with a status), and ``"tags+status"`` for one tag and a status."""
    others = (
        query.priority, query.category, query.assigned_to, query.contact_id,
        query.created_after, query.created_before, query.due_after, query.due_before,
    )  # fmt: skip
    if any(value for value in others) or query.sla_breach is not None:
        return None
    if len(query.tags) == 1 and query.search is None:
        return "tags+status" if query.status else "tags"
    if not query.tags and query.search is not None:
        return "search"  # with or without a status: both are in the search index
    return None


# Letters that SQLite's tokenizer (Unicode 6.1 tables) still reads as combining marks,
# so as word breaks: New Tai Lue vowel signs and two Vedic signs, marks until Unicode 8.
_WORD = re.compile("[^\\W_\u19b0-\u19c0\u19c8\u19c9\u1cf2\u1cf3]+")


def _words(text: str) -> list[str]:
    """The words of a search: runs of letters and digits, broken where the index breaks
    them."""
    return _WORD.findall(text)


def fts_query(text: str) -> str | None:
    """User text as an FTS5 query: every word must match, as a word or a word's prefix.

    A word is a run of letters and digits (``_`` parts words, as the tokenizer has it;
    see ``_words``).
    Each is quoted, so FTS syntax in the text (quotes, ``*``, ``NEAR``, ``OR``,
    parentheses) is searched for as plain words; and each is one token, never a phrase
    (the index keeps no positions). ``None`` when the text has no words.
    """
    words = _words(text)
    if not words:
        return None
    return "{subject description} : (" + " ".join(f'"{word}"*' for word in words) + ")"


def _where(
    query: ListQuery,
    now: datetime,
    *,
    probe_tags: bool = False,
    walk: bool = False,
    text_driven: bool = False,
) -> tuple[str, list[Any]]:
    """The WHERE clause for ``query``'s filters. ``probe_tags`` checks tags per ticket;
    ``walk`` also keeps the columns' own indexes out of the plan (a unary ``+``), so that
    the one index in the page's order is walked."""
    clauses: list[str] = []
    params: list[Any] = []
    t = "+t." if walk else "t."

    def any_of(column: str, values: Sequence[Any]) -> None:
        clauses.append(f"{t}{column} IN ({', '.join('?' for _ in values)})")
        params.extend(values)

    match = None if query.search is None else fts_query(query.search)
    if query.status:
        if match is None:
            any_of("status", [str(s) for s in query.status])
        else:  # answered by the search index's facets, with the words
            tokens = " OR ".join(f'"{facets(status)}"' for status in query.status)
            match += f" AND facets : ({tokens})"
    if query.priority:
        any_of("priority", [int(p) for p in query.priority])
    for column in ("category", "assigned_to", "contact_id"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"{t}{column} = ?")
            params.append(value)
    for name, column, op in (
        ("created_after", "created_at", ">="),
        ("created_before", "created_at", "<"),
        ("due_after", "due_date", ">="),
        ("due_before", "due_date", "<"),
    ):
        value = getattr(query, name)
        if value is not None:
            clauses.append(f"{t}{column} {op} ?")
            params.append(format_time(value))
    for tag in query.tags:
        if probe_tags:  # checked per ticket, so the planner can walk the order's index
            clauses.append(
                "EXISTS (SELECT 1 FROM ticket_tags WHERE tag = ? AND ticket_number = t.number)"
            )
        else:
            clauses.append("t.number IN (SELECT ticket_number FROM ticket_tags WHERE tag = ?)")
        params.append(tag)
    if query.search is not None:
        if match is None:
            clauses.append("0")
        elif text_driven:  # the statement reads from tickets_fts (_SELECT_BY_TEXT)
            clauses.insert(0, "tickets_fts MATCH ?")
            params.insert(0, match)
        else:
            clauses.append("t.number IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)")
            params.append(match)
    if query.sla_breach is not None:
        # A ticket reads as breached from its stored sla_breach_at on (see
        # domain.sla.breach_at), so "breached at now?" is a range over an index.
        if query.sla_breach:
            clauses.append(f"{t}sla_breach_at <= ?")
        else:
            clauses.append(f"({t}sla_breach_at IS NULL OR {t}sla_breach_at > ?)")
        params.append(format_time(now))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return where, params


def sort_key(ticket: Ticket, sort_by: str) -> str | int | None:
    """A ticket's value of the sort column, as stored."""
    if sort_by == "priority":
        return int(ticket.priority)
    value: datetime | None = getattr(ticket, sort_by)
    return format_optional(value)


def _keyset(query: ListQuery, cursor: Cursor) -> tuple[str, list[Any]]:
    """The condition for 'after the cursor' in the query's order (ties by number)."""
    op = "<" if query.sort_order == "desc" else ">"
    column = _SORT_COLUMNS[query.sort_by]
    if query.sort_by != "due_date":
        return f"({column}, t.number) {op} (?, ?)", [cursor.key, cursor.number]
    if cursor.key is None:  # into the tickets with no due date, which come last
        return f"(t.due_date IS NULL AND t.number {op} ?)", [cursor.number]
    return f"(t.due_date IS NULL OR (t.due_date, t.number) {op} (?, ?))", [
        cursor.key,
        cursor.number,
    ]


def _order(query: ListQuery, *, text_driven: bool = False) -> str:
    direction = "ASC" if query.sort_order == "asc" else "DESC"
    if text_driven:  # creation order is number order (TicketStore.by_number)
        return f"tickets_fts.rowid {direction}"
    column = _SORT_COLUMNS[query.sort_by]
    nulls_last = f"{column} IS NULL, " if query.sort_by == "due_date" else ""
    return f"{nulls_last}{column} {direction}, t.number {direction}"
