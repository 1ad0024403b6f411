"""The ticket repository in SQLite: tickets with their search entries, tags, states and
events, the lists and searches over them, and the idempotency keys' remembered answers.

Each ticket is one row of ``tickets`` (see :mod:`.rows` for its columns); a write keeps
its search entry (``tickets_fts``), its tags (``ticket_tags``) and its states
(``ticket_states``, what the figures read) in step in the same transaction, and appends
its events to ``ticket_events``. The caller owns the transaction.
"""

from __future__ import annotations

import builtins
import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from ...domain.ticket import Event, Ticket
from ...domain.times import load_time
from ...domain.validation import ListQuery, lone_filter
from ...domain.words import search_words
from ..errors import WriteConflict
from ..port import SlaView, StoredTicket
from ..tables import assembled, built_rows, stored_rows
from .query import after_cursor, fts_query, in_number_order, order_by, where_clause
from .rows import (
    END_STATE,
    INDEX_TEXT,
    INSERT,
    INSERT_EVENT,
    INSERT_EVENT_WITH_ID,
    INSERT_STATE,
    INSERT_TAG,
    SELECT,
    SELECT_BY_TEXT,
    SELECT_EVENTS,
    SELECT_EVENTS_BETWEEN,
    SELECT_STATES_BETWEEN,
    UNINDEX_TEXT,
    UPDATE,
    event_from_row,
    event_rows,
    first_state,
    state_from_row,
    state_row,
    state_to_row,
    tag_rows,
    text_row,
    ticket_from_row,
    ticket_to_row,
)

Statement = tuple[str, list[Any]]
"""SQL and its parameters."""

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


class TicketStore:
    """Reads and writes tickets. The caller owns the transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn = db.conn
        self._plans: dict[str, tuple[str, ...]] = {}
        self._by_number: bool | None = None

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
        self._plans.clear()
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
        """Insert a new ticket, with its search entry, tags and first state, and its
        events."""
        self._conn.execute(INSERT, ticket_to_row(ticket))
        self._conn.execute(INDEX_TEXT, text_row(ticket))
        self._conn.executemany(INSERT_TAG, tag_rows(ticket))
        self._conn.execute(INSERT_STATE, first_state(ticket))
        self.append_events(ticket.number, events)

    def insert_many(self, built: Sequence[tuple[Ticket, Sequence[Event]]]) -> None:
        """Insert many new tickets with their events, in as few statements as possible."""
        self._insert_rows(INSERT_EVENT, *built_rows(built, first_state, event_rows))

    def insert_stored(self, batch: Sequence[StoredTicket]) -> None:
        """Tickets as stored elsewhere (a copy), with their events (ids kept) and states;
        if their creation times break number order, the file says so (``by_number``)."""
        if not batch:
            return
        _, latest = self.next_number()
        created = [stored.ticket.created_at for stored in batch]
        if latest is not None:
            created.insert(0, latest)
        if any(later < earlier for earlier, later in itertools.pairwise(created)):
            self._conn.execute(
                "UPDATE settings SET value = '0' WHERE key = 'created_in_number_order'"
            )
            self._by_number = None
        self._insert_rows(INSERT_EVENT_WITH_ID, *stored_rows(batch, state_to_row, event_rows))

    def _insert_rows(
        self,
        insert_event: str,
        tickets: Sequence[Ticket],
        states: Sequence[tuple[Any, ...]],
        events: Sequence[tuple[Any, ...]],
    ) -> None:
        """Tickets with their search entries and tags, these states and these events
        (rows for ``insert_event``): one statement a table."""
        self._conn.executemany(INSERT, [ticket_to_row(ticket) for ticket in tickets])
        self._conn.executemany(INDEX_TEXT, [text_row(ticket) for ticket in tickets])
        self._conn.executemany(INSERT_TAG, [row for ticket in tickets for row in tag_rows(ticket)])
        self._conn.executemany(INSERT_STATE, states)
        self._conn.executemany(insert_event, events)

    def stored(self, after: int, limit: int) -> list[StoredTicket]:
        """Up to ``limit`` tickets above number ``after`` as stored, with their events and
        states: three range reads along the primary keys."""
        rows = self._conn.execute(f"{SELECT} WHERE t.number > ? ORDER BY t.number LIMIT ?",
                                  (after, limit)).fetchall()  # fmt: skip
        if not rows:
            return []
        span = (rows[0][0], rows[-1][0])
        events = self._conn.execute(SELECT_EVENTS_BETWEEN, span)
        states = self._conn.execute(SELECT_STATES_BETWEEN, span)
        return assembled(rows, events, states, (ticket_from_row, event_from_row, state_from_row))

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
        self._plans.clear()  # the planner's answers may have changed with them

    def scan(
        self, query: ListQuery, now: datetime, after: int, limit: int, view: SlaView | None = None
    ) -> list[Ticket]:
        """Up to ``limit`` tickets matching ``query``'s filters with a number above
        ``after``, in number order: the steps of an export."""
        where, params = where_clause(query, now)
        where = f"{where} AND t.number > ?" if where else " WHERE t.number > ?"
        rows = self._conn.execute(
            f"{SELECT}{where} ORDER BY t.number LIMIT ?", [*params, after, limit]
        )
        return [ticket_from_row(row, view) for row in rows]

    def save(self, before: Ticket, after: Ticket, events: Iterable[Event]) -> None:
        """Write ``after`` over ``before`` (a versioned update: raises
        :class:`~ayra_tickets.storage.errors.WriteConflict` if the row is no longer at
        ``before``'s version, which a write lock held since the read rules out), with
        its search entry, tags and states, and append its events."""
        row = ticket_to_row(after)
        updated = self._conn.execute(UPDATE, (*row[2:], after.number, before.version))
        if updated.rowcount != 1:
            raise WriteConflict(f"{after.number_label} is no longer at version {before.version}")
        if text_row(before) != text_row(after):
            self._conn.execute(UNINDEX_TEXT, text_row(before))
            self._conn.execute(INDEX_TEXT, text_row(after))
        if (before.tags, before.status) != (after.tags, after.status):
            self._conn.execute("DELETE FROM ticket_tags WHERE ticket_number = ?", (after.number,))
            self._conn.executemany(INSERT_TAG, tag_rows(after))
        events = list(events)
        if (before.status, before.priority) != (after.status, after.priority):
            at = next((e.at for e in events if e.field in ("status", "priority")), after.updated_at)
            self._conn.execute(END_STATE, (int(at.timestamp()), after.number))
            self._conn.execute(
                INSERT_STATE,
                state_row(
                    after.number,
                    after.version,
                    at,
                    str(after.status),
                    after.priority,
                    str(before.status),
                ),
            )
        self.append_events(after.number, events)

    def append_events(self, number: int, events: Iterable[Event]) -> None:
        """Append events to the log of the ticket with this number."""
        self._conn.executemany(INSERT_EVENT, event_rows((number, event) for event in events))

    def get(self, ticket_id: str) -> Ticket | None:
        row = self._conn.execute(SELECT + " WHERE t.id = ?", (ticket_id,)).fetchone()
        return None if row is None else ticket_from_row(row)

    def get_number(self, number: int) -> Ticket | None:
        """The ticket with this number (the table's primary key: one indexed look-up)."""
        row = self._conn.execute(SELECT + " WHERE t.number = ?", (number,)).fetchone()
        return None if row is None else ticket_from_row(row)

    def events(self, number: int) -> list[Event]:
        """The history of the ticket with this number, oldest first."""
        rows = self._conn.execute(SELECT_EVENTS, (number,))
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
        if lone_filter(query) == "search" and self._text_driven(query):
            where, params = where_clause(query, now, text_driven=True)
            op = "<" if query.sort_order == "desc" else ">"
            sql = f"{SELECT_BY_TEXT}{where} AND tickets_fts.rowid {op} ?"
            sql += f" ORDER BY {order_by(query, text_driven=True)} LIMIT ?"
            args = [*params, query.cursor.number, query.per_page + 1]
        else:
            where, params = where_clause(query, now)
            numbered = in_number_order(query, self.by_number)
            beyond, keys = after_cursor(query, query.cursor, numbered=numbered)
            where = f"{where} AND {beyond}" if where else f" WHERE {beyond}"
            sql = f"{SELECT}{where} ORDER BY {order_by(query, numbered=numbered)} LIMIT ?"
            args = [*params, *keys, query.per_page + 1]
        rows = self._conn.execute(sql, args).fetchall()
        found = [ticket_from_row(row, view) for row in rows[: query.per_page]]
        return found, len(rows) > query.per_page

    def plans(self, query: ListQuery, now: datetime) -> dict[str, list[str]]:
        """SQLite's plans for the statements a list runs (for tests and tuning)."""
        (count_sql, count_args), page = self.list_statements(query, now)
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
        if lone_filter(query) == "search" and len(search_words(query.search or "")) > 1:
            found = self._search_once(query, now, view)
            if found is not None:
                return found
        (count_sql, count_args), page = self.list_statements(query, now)
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
        _, (match,) = where_clause(query, now, text_driven=True)
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
                for row in self._conn.execute(f"{SELECT} WHERE t.number IN ({marks})", chosen)
            }
            return [ticket_from_row(by_number[number], view) for number in chosen], total
        rows = self._conn.execute(
            f"{SELECT} WHERE t.number IN (SELECT value FROM json_each(?))"
            f" ORDER BY {order_by(query, numbered=in_number_order(query, self.by_number))}"
            " LIMIT ? OFFSET ?",
            (json.dumps(numbers), query.per_page, offset),
        )
        return [ticket_from_row(row, view) for row in rows], total

    def list_statements(
        self, query: ListQuery, now: datetime
    ) -> tuple[Statement, Callable[[int], Statement]]:
        """The count, and (given the count) the page statement without its LIMIT/OFFSET
        (what :meth:`list` runs; public for the benchmarks' raw side).

        Few matches (under one ticket in ``WALK_SHARE``) are gathered from the filters'
        indexes and sorted. Many are found by walking an index in the page's order and
        checking each ticket, which stops when the page is full: tags are then probed per
        ticket, and when SQLite would still gather and sort, the other filters are kept
        off their indexes too, or, for a search in creation order, the search index is
        read newest (or oldest) first. Counting a lone tag or a lone search reads only
        that index.
        """
        where, params = where_clause(query, now)
        lone = lone_filter(query)
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

        numbered = in_number_order(query, self.by_number)

        def page(total: int) -> Statement:
            def statement(where: str, sorted_after: bool = False) -> str:
                order = order_by(query, sorted_after=sorted_after, numbered=numbered)
                return f"{SELECT}{where} ORDER BY {order} LIMIT ? OFFSET ?"

            many = total * WALK_SHARE >= self._size()
            if self._text_driven(query) and (many or lone == "search"):
                clauses, args = where_clause(query, now, probe_tags=True, text_driven=True)
                by_text = order_by(query, text_driven=True)
                return f"{SELECT_BY_TEXT}{clauses} ORDER BY {by_text} LIMIT ? OFFSET ?", args
            if not many:
                sql = statement(where)
                if self._walks(sql, params):  # the few would be looked for along the order
                    gathered = statement(where, sorted_after=True)
                    if not self._walks(gathered, params):
                        return gathered, params
                return sql, params
            sql, args = statement(where), params
            if query.tags:
                clauses, args = where_clause(query, now, probe_tags=True)
                sql = statement(clauses)
            if query.search is None and self._sorts(sql, args):
                clauses, args = where_clause(query, now, probe_tags=True, walk=True)
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
        """Whether SQLite would gather and sort the matches for this page."""
        return any("TEMP B-TREE FOR ORDER BY" in step for step in self._plan(sql, args))

    def _walks(self, sql: str, args: Sequence[Any]) -> bool:
        """Whether SQLite would read the tickets from one end, along an index or not, and
        check each (rather than look the matches up)."""
        return any(step.split(" ")[:2] == ["SCAN", "t"] for step in self._plan(sql, args))

    def _plan(self, sql: str, args: Sequence[Any]) -> tuple[str, ...]:
        """SQLite's plan for a page statement (asked once per statement text; the answer
        depends on the shape, not the values)."""
        plan = self._plans.get(sql)
        if plan is None:
            rows = self._conn.execute(f"EXPLAIN QUERY PLAN {sql}", [*args, 1, 0]).fetchall()
            plan = tuple(row[-1] for row in rows)
            if len(self._plans) >= 512:
                self._plans.clear()
            self._plans[sql] = plan
        return plan

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
