"""The ticket repository on PostgreSQL: tickets with their search words, tags, states and
events, and the lists and searches over them.

Each ticket is one row of ``tickets`` (see :mod:`.rows`); a write keeps its tags
(``ticket_tags``) and its states (``ticket_states``) in step in the same transaction and
appends its events to ``ticket_events``. Numbers come from the counter row
(``ticket_counter``), locked by the write that takes one, so that they have no gaps.
A ticket read in a write transaction is locked (``FOR UPDATE``) until it commits: a
versioned update then compares with the locked row. The caller owns the transaction
(:meth:`~.adapter.PostgresStorage.atomic`).
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...domain.ticket import Event, Ticket
from ...domain.validation import ListQuery
from ..errors import WriteConflict
from ..port import Built, SlaView, StoredTicket
from ..tables import assembled, built_rows, stored_rows
from .query import after_cursor, order_by, where_clause
from .rows import (
    COPY_EVENTS,
    COPY_EVENTS_WITH_ID,
    COPY_STATES,
    COPY_TAGS,
    COPY_TICKETS,
    END_STATE,
    FOLLOW_EVENT_IDS,
    INSERT,
    INSERT_EVENT,
    INSERT_STATE,
    INSERT_TAG,
    SELECT,
    SELECT_EVENTS,
    SELECT_EVENTS_BETWEEN,
    SELECT_STATES_BETWEEN,
    UPDATE,
    UPDATE_WITH_TEXT,
    document,
    event_from_row,
    event_rows,
    first_state,
    state_from_row,
    state_row,
    state_to_row,
    tag_rows,
    ticket_from_row,
    ticket_to_row,
)

if TYPE_CHECKING:
    from .adapter import Connections

BIGINT_MAX = 2**63 - 1
"""The largest ticket number the column holds."""

ANALYZED = ("tickets", "ticket_tags", "ticket_states", "ticket_events")
"""The tables whose planner statistics an import refreshes."""

_RAISE_COUNTER = (
    "UPDATE ticket_counter SET last_number = greatest(last_number, %s),"
    " last_created_at = greatest(last_created_at, %s)"
)


class TicketStore:
    """Reads and writes tickets (:class:`~ayra_tickets.storage.port.TicketRepository`).
    The caller owns the transaction."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        self._recorded: builtins.list[tuple[str, Sequence[Any]]] | None = None

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._recorded is not None:
            self._recorded.append((sql, params))
        return self._connections.conn.execute(sql, params)

    @contextlib.contextmanager
    def recording(self) -> Iterator[builtins.list[tuple[str, Sequence[Any]]]]:
        """The statements the reads run meanwhile (a ticket, its events, a list's count
        and page, a cursor's page), each with its parameters, in order: for tests and
        tuning, which ask the server for their plans. Meant for one thread at a time."""
        recorded: builtins.list[tuple[str, Sequence[Any]]] = []
        self._recorded = recorded
        try:
            yield recorded
        finally:
            self._recorded = None

    # -- one ticket ---------------------------------------------------------------------

    def _one(self, condition: str, value: Any) -> Ticket | None:
        # A write locks what it reads (the ticket only, not its assignee's row).
        lock = " FOR UPDATE OF t" if self._connections.writing else ""
        row = self._run(f"{SELECT} WHERE {condition}{lock}", (value,)).fetchone()
        return None if row is None else ticket_from_row(row)

    def get(self, ticket_id: str) -> Ticket | None:
        if "\x00" in ticket_id:  # no text column holds a NUL: no ticket has this id
            return None
        return self._one("t.id = %s", ticket_id)

    def get_number(self, number: int) -> Ticket | None:
        if not 0 < number <= BIGINT_MAX:  # past the column's range: no ticket has it
            return None
        return self._one("t.number = %s", number)

    def next_number(self) -> tuple[int, datetime | None]:
        """The next number and the latest creation time, from the counter row, which a
        write locks until it commits (creates queue there: numbers stay gapless)."""
        lock = " FOR UPDATE" if self._connections.writing else ""
        row = self._run(f"SELECT last_number, last_created_at FROM ticket_counter{lock}").fetchone()
        assert row is not None  # the baseline makes the row; nothing deletes it
        return int(row[0]) + 1, row[1]

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        rows = self._run("SELECT id FROM tickets WHERE id = ANY(%s)", (list(ids),))
        return {row[0] for row in rows}

    def count(self) -> int:
        (total,) = self._run("SELECT count(*) FROM tickets").fetchone()
        return int(total)

    def events(self, number: int) -> list[Event]:
        return [event_from_row(row) for row in self._run(SELECT_EVENTS, (number,))]

    # -- writes -------------------------------------------------------------------------

    def insert(self, ticket: Ticket, events: Iterable[Event]) -> None:
        """A new ticket, its tags, first state and events, and the counter raised to its
        number (in one pipeline: one round trip to the server)."""
        conn = self._connections.conn
        with conn.pipeline(), conn.cursor() as cursor:
            cursor.execute(INSERT, (*ticket_to_row(ticket), document(ticket)))
            cursor.execute(_RAISE_COUNTER, (ticket.number, ticket.created_at))
            tags = tag_rows(ticket)
            if tags:
                cursor.executemany(INSERT_TAG, tags)
            cursor.execute(INSERT_STATE, first_state(ticket))
            cursor.executemany(INSERT_EVENT, event_rows((ticket.number, e) for e in events))

    def insert_many(self, built: Built) -> None:
        """Many new tickets and their events, each table written by one ``COPY``."""
        self._copy_in(COPY_EVENTS, *built_rows(built, first_state, event_rows))

    def insert_stored(self, batch: Sequence[StoredTicket]) -> None:
        """Tickets as stored elsewhere (a copy), with their events (ids kept) and states,
        each table written by one ``COPY``; the next event id follows the highest."""
        if not batch:
            return
        self._copy_in(COPY_EVENTS_WITH_ID, *stored_rows(batch, state_to_row, event_rows))
        self._run(FOLLOW_EVENT_IDS)

    def _copy_in(
        self,
        copy_events: str,
        tickets: Sequence[Ticket],
        states: Sequence[tuple[Any, ...]],
        events: Sequence[tuple[Any, ...]],
    ) -> None:
        """Tickets with their search words and tags, these states and these events (rows
        for ``copy_events``), a ``COPY`` a table; the counter raised to the last."""
        if not tickets:
            return
        conn = self._connections.conn
        with conn.cursor() as cursor:
            with cursor.copy(COPY_TICKETS) as copy:
                for ticket in tickets:
                    copy.write_row((*ticket_to_row(ticket), document(ticket)))
            with cursor.copy(COPY_TAGS) as copy:
                for ticket in tickets:
                    for row in tag_rows(ticket):
                        copy.write_row(row)
            with cursor.copy(COPY_STATES) as copy:
                for state in states:
                    copy.write_row(state)
            with cursor.copy(copy_events) as copy:
                for row in events:
                    copy.write_row(row)
            last = max(ticket.number for ticket in tickets)
            latest = max(ticket.created_at for ticket in tickets)
            cursor.execute(_RAISE_COUNTER, (last, latest))

    def stored(self, after: int, limit: int) -> builtins.list[StoredTicket]:
        """Up to ``limit`` tickets above number ``after`` as stored, with their events and
        states: three range reads along the primary keys."""
        rows = self._run(
            f"{SELECT} WHERE t.number > %s ORDER BY t.number LIMIT %s", (after, limit)
        ).fetchall()
        if not rows:
            return []
        span = (rows[0][0], rows[-1][0])
        events = self._run(SELECT_EVENTS_BETWEEN, span)
        states = self._run(SELECT_STATES_BETWEEN, span)
        return assembled(rows, events, states, (ticket_from_row, event_from_row, state_from_row))

    def save(self, before: Ticket, after: Ticket, events: Iterable[Event]) -> None:
        """Write ``after`` over ``before``: a versioned update (raises
        :class:`~ayra_tickets.storage.errors.WriteConflict` if the row is no longer at
        ``before``'s version), with its search words, tags and states, and its events."""
        conn = self._connections.conn
        row = ticket_to_row(after)
        events = list(events)
        if (before.subject, before.description) != (after.subject, after.description):
            updated = conn.execute(
                UPDATE_WITH_TEXT, (*row[2:], document(after), after.number, before.version)
            )
        else:
            updated = conn.execute(UPDATE, (*row[2:], after.number, before.version))
        if updated.rowcount != 1:
            raise WriteConflict(f"{after.number_label} is no longer at version {before.version}")
        with conn.pipeline(), conn.cursor() as cursor:
            if (before.tags, before.status) != (after.tags, after.status):
                cursor.execute("DELETE FROM ticket_tags WHERE ticket_number = %s", (after.number,))
                tags = tag_rows(after)
                if tags:
                    cursor.executemany(INSERT_TAG, tags)
            if (before.status, before.priority) != (after.status, after.priority):
                at = next(
                    (e.at for e in events if e.field in ("status", "priority")), after.updated_at
                )
                cursor.execute(END_STATE, (at, after.number))
                cursor.execute(
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
            cursor.executemany(INSERT_EVENT, event_rows((after.number, e) for e in events))

    # -- an import's upkeep -------------------------------------------------------------

    def defer_indexes(self) -> None:
        """Nothing: dropping indexes is DDL, which would make every read wait (see the
        package's notes). PostgreSQL keeps the indexes as ``COPY`` writes."""

    def restore_indexes(self) -> None:
        """Nothing to restore (see :meth:`defer_indexes`)."""

    def analyze(self) -> None:
        """Refresh the planner's statistics of the ticket tables (``ANALYZE`` takes no
        lock that reads or writes wait for)."""
        self._run(f"ANALYZE {', '.join(ANALYZED)}")

    # -- lists --------------------------------------------------------------------------

    def list(
        self, query: ListQuery, now: datetime, view: SlaView | None = None
    ) -> tuple[builtins.list[Ticket], int]:
        """One page of tickets matching ``query`` and how many match, from one snapshot
        (the caller's transaction)."""
        where, params = where_clause(query, now)
        (total,) = self._run(f"SELECT count(*) FROM tickets t{where}", params).fetchone()
        offset = (query.page - 1) * query.per_page
        if offset >= total:
            return [], int(total)
        rows = self._run(
            f"{SELECT}{where} ORDER BY {order_by(query)} LIMIT %s OFFSET %s",
            [*params, query.per_page, offset],
        )
        return [ticket_from_row(row, view) for row in rows], int(total)

    def after(
        self, query: ListQuery, now: datetime, view: SlaView | None = None
    ) -> tuple[builtins.list[Ticket], bool]:
        """The page after ``query.cursor`` by keyset, and whether more follow: each range
        of :func:`~.query.after_cursor` in turn, until the page and one more are read."""
        assert query.cursor is not None
        where, params = where_clause(query, now)
        wanted = query.per_page + 1
        rows: builtins.list[Any] = []
        for beyond, keys in after_cursor(query, query.cursor):
            if len(rows) == wanted:
                break
            found = f"{where} AND {beyond}" if where else f" WHERE {beyond}"
            rows += self._run(
                f"{SELECT}{found} ORDER BY {order_by(query)} LIMIT %s",
                [*params, *keys, wanted - len(rows)],
            ).fetchall()
        found_tickets = [ticket_from_row(row, view) for row in rows[: query.per_page]]
        return found_tickets, len(rows) > query.per_page

    def scan(
        self, query: ListQuery, now: datetime, after: int, limit: int, view: SlaView | None = None
    ) -> builtins.list[Ticket]:
        """Up to ``limit`` tickets matching ``query``'s filters with a number above
        ``after``, in number order."""
        where, params = where_clause(query, now)
        where = f"{where} AND t.number > %s" if where else " WHERE t.number > %s"
        rows = self._run(f"{SELECT}{where} ORDER BY t.number LIMIT %s", [*params, after, limit])
        return [ticket_from_row(row, view) for row in rows]
