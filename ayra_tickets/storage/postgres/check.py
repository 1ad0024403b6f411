"""Checking a PostgreSQL database: its schema, and the engine's consistency rules.

The counterpart of ``storage/sqlite/check.py``, without what only a file has (SQLite's
integrity check; PostgreSQL checks its own pages and constraints): the schema is this
release's, and then every ticket with its events, tag rows and state rows, read in
number order in one pass, is held to the rules of
:mod:`~ayra_tickets.storage.consistency`; the ticket counter is at the highest number;
and each ticket's ``search`` column holds the words of its subject and description
(:mod:`.search`). Everything is read in one ``REPEATABLE READ READ ONLY`` transaction (a
snapshot, while others go on writing), on a connection of its own, through server-side
cursors (a big database is streamed, not loaded); nothing is written, and an older
schema is not upgraded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import IsolationLevel

from ...domain.times import format_optional
from .. import consistency
from ..consistency import Counts, Rows, replays, sla_breach, states_match, tags_match
from ..findings import Finding, Progress, Report, Unreadable
from .errors import first_line
from .rows import COLUMNS, SELECT, event_from_row, ticket_from_row
from .schema import applied_migrations, known_migrations
from .search import lexemes

CHECKS: dict[str, str] = {
    "schema": "the database's schema is this release's",
    **consistency.CHECKS,
    "search": "each ticket's search column holds the words of its subject and description",
}
"""The checks, by name, with what each holds the database to."""

ITERSIZE = 2_000
"""Rows a server-side cursor fetches at a time."""

_CREATED_AT = COLUMNS.index("created_at")
_BREACH_AT = COLUMNS.index("sla_breach_at")
_SUBJECT = COLUMNS.index("subject")
_DESCRIPTION = COLUMNS.index("description")
_WORDS = len(COLUMNS) + 1  # after the columns and the assignee's name

_TICKETS = (
    f"{SELECT.replace(', a.name', ', a.name, tsvector_to_array(t.search)', 1)} ORDER BY t.number"
)
_STREAMS = {
    "events": (
        "SELECT ticket_number, id, ticket_id, version, type, field, old_value, new_value,"
        " data, created_at FROM ticket_events ORDER BY ticket_number, id"
    ),
    "tags": "SELECT ticket_number, tag, status FROM ticket_tags ORDER BY ticket_number, tag",
    "states": (
        "SELECT ticket_number, version, began, ended, status, priority, resolves, closes"
        " FROM ticket_states ORDER BY ticket_number, version"
    ),
}


def check_address(
    address: str, location: str, progress: Progress | None = None, *, timeout: int = 10
) -> Report:
    """Check the database at ``address`` (a ``postgresql://`` URL; ``location`` is what
    the report calls it) without writing to it. Raises :class:`Unreadable` when it
    cannot be reached or holds no ticket database."""
    try:
        conn = psycopg.connect(address, connect_timeout=timeout)
    except psycopg.Error as error:
        raise Unreadable(f"it cannot be reached ({first_line(error)})") from error
    try:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.commit()
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            return run(conn, location, progress)
    except psycopg.Error as error:
        raise Unreadable(f"PostgreSQL stopped the check ({first_line(error)})") from error
    finally:
        conn.close()


def run(conn: psycopg.Connection[Any], location: str, progress: Progress | None = None) -> Report:
    """Every check, in the caller's read transaction."""
    found = conn.execute("SELECT to_regclass('tickets') IS NOT NULL").fetchone()
    if not (found and found[0]):
        raise Unreadable("it is not an ayra-tickets database: its schema has no tickets table")
    findings = schema(conn)
    if findings:
        return Report(location, ("schema",), tuple(findings))
    counts = Counts()
    findings += tickets_pass(conn, counts, progress)
    findings += counter(conn)
    return Report(location, tuple(CHECKS), tuple(findings), counts.tickets, counts.events)


def schema(conn: psycopg.Connection[Any]) -> list[Finding]:
    """Whether the database has exactly this release's migrations (an older one is not
    upgraded here: opening it with the engine does that)."""
    return consistency.schema_findings(known_migrations(), applied_migrations(conn))


def _streamed(conn: psycopg.Connection[Any], name: str, sql: str) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` through a server-side cursor, a batch at a time."""
    with conn.cursor(name=f"ayra_check_{name}") as cursor:
        cursor.itersize = ITERSIZE
        cursor.execute(sql)
        yield from cursor


def tickets_pass(
    conn: psycopg.Connection[Any], counts: Counts, progress: Progress | None = None
) -> list[Finding]:
    """Every ticket with its events, tags and states, in number order, in one pass."""
    row = conn.execute("SELECT coalesce(max(number), 0) FROM tickets").fetchone()
    total = int(row[0]) if row else 0
    return consistency.tickets_pass(
        _streamed(conn, "tickets", _TICKETS),
        {name: _streamed(conn, name, sql) for name, sql in _STREAMS.items()},
        check_ticket,
        lambda found: found[_CREATED_AT],
        total,
        counts,
        progress,
    )


def check_ticket(row: Sequence[Any], events: Rows, tags: Rows, states: Rows) -> list[Finding]:
    """One ticket's row held to its events, tag rows, state rows and search words."""
    number = row[0]
    try:
        ticket = ticket_from_row(row[:_WORDS])
        log = [event_from_row(event[1:]) for event in events]
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        return [Finding("rows", f"the row does not read as a ticket ({error!r})", number)]
    found = [
        *replays(ticket, log),
        *sla_breach(ticket, format_optional(row[_BREACH_AT])),
        *tags_match(ticket, tags),
        *states_match(number, log, states),
    ]
    held = set(row[_WORDS] or ())
    if held != set(lexemes(row[_SUBJECT], row[_DESCRIPTION])):
        found.append(
            Finding(
                "search",
                "its search column is not the words of its subject and description",
                number,
            )
        )
    return found


def counter(conn: psycopg.Connection[Any]) -> list[Finding]:
    """The counter the next number comes from is at the highest number, and no earlier
    than the latest creation (else the next ticket would take a number in use, or be
    created before the one numbered before it)."""
    row = conn.execute(
        "SELECT c.last_number, c.last_created_at, coalesce(max(t.number), 0), max(t.created_at)"
        " FROM ticket_counter c LEFT JOIN tickets t ON true GROUP BY 1, 2"
    ).fetchall()
    if len(row) != 1:
        return [Finding("numbers", "the ticket counter has no row", table="ticket_counter")]
    last_number, last_created, highest, latest = row[0]
    found = []
    if last_number != highest:
        found.append(
            Finding(
                "numbers",
                f"the ticket counter is at {last_number}, the highest number is {highest}",
                table="ticket_counter",
            )
        )
    if latest is not None and (last_created is None or last_created < latest):
        found.append(
            Finding(
                "numbers",
                f"the ticket counter's last creation ({format_optional(last_created)}) is"
                f" before the latest ticket's ({format_optional(latest)})",
                table="ticket_counter",
            )
        )
    return found
