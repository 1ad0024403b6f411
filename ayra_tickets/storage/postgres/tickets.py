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
from ...domain.validation import ListQuery, lone_filter
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
    SELECT_BY_ID,
    SELECT_BY_NUMBER,
    SELECT_EVENTS,
    SELECT_EVENTS_BETWEEN,
    SELECT_STATES_BETWEEN,
    change_rows,
    document,
    event_from_row,
    event_rows,
    first_state,
    new_rows,
    state_from_row,
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
VACUUM_ANALYZED = f"VACUUM (ANALYZE) {', '.join(ANALYZED)}"
"""What an import runs once committed: the planner's statistics, and the visibility map
that lets a count read an index alone."""

READ_COUNTER = "SELECT last_number, last_created_at FROM ticket_counter"
"""The last number given out and the latest creation time (a write adds ``FOR UPDATE``)."""
RAISE_COUNTER = (
    "UPDATE ticket_counter SET last_number = greatest(last_number, %s),"
    " last_created_at = greatest(last_created_at, %s)"
)
"""The counter raised to a write's last number and latest creation time."""
DELETE_TAGS = "DELETE FROM ticket_tags WHERE ticket_number = %s"
COUNT_ALL = "SELECT last_number FROM ticket_counter"
"""How many tickets there are, in the reader's snapshot (the counter is raised in the
transaction that inserts each ticket): a list without filters reads one row, not every
ticket's."""
COUNT_TAG = "SELECT count(*) FROM ticket_tags WHERE tag = %s"
COUNT_TAG_STATUS = f"{COUNT_TAG} AND status = ANY(%s)"
LOCK = " FOR UPDATE"
"""What a write adds to its reads: the rows it decides on stay as read until it commits."""
LOCK_TICKET = " FOR UPDATE OF t"
"""As :data:`LOCK`, for a ticket read with its assignee's name (the ticket alone)."""

Statement = tuple[str, list[Any]]


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

    def _one(self, sql: str, value: Any) -> Ticket | None:
        # A write locks what it reads (the ticket only, not its assignee's row).
        lock = LOCK_TICKET if self._connections.writing else ""
        row = self._run(sql + lock, (value,)).fetchone()
        return None if row is None else ticket_from_row(row)

    def get(self, ticket_id: str) -> Ticket | None:
        if "\x00" in ticket_id:  # no text column holds a NUL: no ticket has this id
            return None
        return self._one(SELECT_BY_ID, ticket_id)

    def get_number(self, number: int) -> Ticket | None:
        if not 0 < number <= BIGINT_MAX:  # past the column's range: no ticket has it
            return None
        return self._one(SELECT_BY_NUMBER, number)

    def next_number(self) -> tuple[int, datetime | None]:
        """The next number and the latest creation time, from the counter row, which a
        write locks until it commits (creates queue there: numbers stay gapless)."""
        lock = LOCK if self._connections.writing else ""
        row = self._run(READ_COUNTER + lock).fetchone()
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
        new = new_rows(ticket, events)
        conn = self._connections.conn
        with conn.pipeline(), conn.cursor() as cursor:
            cursor.execute(INSERT, new.ticket)
            cursor.execute(RAISE_COUNTER, (ticket.number, ticket.created_at))
            if new.tags:
                cursor.executemany(INSERT_TAG, new.tags)
            cursor.execute(INSERT_STATE, new.state)
            cursor.executemany(INSERT_EVENT, new.events)

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
            cursor.execute(RAISE_COUNTER, (last, latest))

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
        change = change_rows(before, after, list(events))
        if conn.execute(*change.update).rowcount != 1:
            raise WriteConflict(f"{after.number_label} is no longer at version {before.version}")
        with conn.pipeline(), conn.cursor() as cursor:
            if change.tags is not None:
                cursor.execute(DELETE_TAGS, (after.number,))
                if change.tags:
                    cursor.executemany(INSERT_TAG, change.tags)
            if change.state is not None:
                cursor.execute(END_STATE, (change.state[2], after.number))
                cursor.execute(INSERT_STATE, change.state)
            cursor.executemany(INSERT_EVENT, change.events)

    # -- an import's upkeep -------------------------------------------------------------

    def defer_indexes(self) -> None:
        """Nothing: dropping indexes is DDL, which would make every read wait (see the
        package's notes). PostgreSQL keeps the indexes as ``COPY`` writes."""

    def restore_indexes(self) -> None:
        """Nothing to restore (see :meth:`defer_indexes`)."""

    def analyze(self) -> None:
        """Refresh the planner's statistics of the ticket tables and their visibility map,
        once the caller's transaction commits (``VACUUM`` runs outside any): rows just
        copied in are not yet known to be visible to all, so until autovacuum came by,
        every count and index-only read would visit the table row by row (a page of
        100,000 tickets with its total took twice as long). ``VACUUM (ANALYZE)`` takes no
        lock that reads or writes wait for."""
        self._connections.after_commit(VACUUM_ANALYZED)

    # -- lists --------------------------------------------------------------------------

    def list(
        self, query: ListQuery, now: datetime, view: SlaView | None = None
    ) -> tuple[builtins.list[Ticket], int]:
        """One page of tickets matching ``query`` and how many match, from one snapshot
        (the caller's transaction)."""
        (count_sql, count_args), (page_sql, page_args) = self.list_statements(query, now)
        (total,) = self._run(count_sql, count_args).fetchone()
        offset = (query.page - 1) * query.per_page
        if offset >= total:
            return [], int(total)
        rows = self._run(page_sql, [*page_args, query.per_page, offset])
        return [ticket_from_row(row, view) for row in rows], int(total)

    def list_statements(self, query: ListQuery, now: datetime) -> tuple[Statement, Statement]:
        """The count, and the page statement with its parameters but the LIMIT and
        OFFSET: what :meth:`list` runs (public for the benchmarks' raw side). Without a
        filter, the total is the counter's; a lone tag, with or without a status, is
        counted from ``ticket_tags`` alone (a tenth of the rows, and no join with every
        ticket)."""
        where, params = where_clause(query, now)
        page = (f"{SELECT}{where} ORDER BY {order_by(query)} LIMIT %s OFFSET %s", params)
        lone = lone_filter(query)
        if lone == "tags":  # a tag alone is counted from its index, not joined to tickets
            return (COUNT_TAG, [query.tags[0]]), page
        if lone == "tags+status":  # tag rows carry their ticket's status
            return (COUNT_TAG_STATUS, [query.tags[0], [str(s) for s in query.status]]), page
        if not where:  # every ticket: numbers run from 1 without a gap, and none is deleted
            return (COUNT_ALL, []), page
        return (f"SELECT count(*) FROM tickets t{where}", params), page

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
