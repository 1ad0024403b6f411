"""Checking a database file: SQLite's own checks and the engine's consistency rules.

Each check is a small function of a connection, run inside the caller's read
transaction, that returns :class:`Finding` values; :func:`run` runs them all. They read,
never write: the search index is compared with one built afresh in the connection's
``temp`` schema, which is not the file. :func:`open_read_only` opens a file for checking
without upgrading its schema or changing its journal mode.

What the tickets' rows are held to is what the event log carries (see
:data:`~ayra_tickets.domain.fields.PERSISTENT_FIELDS`): the SLA columns are not in the
log, so only their one derived column (``sla_breach_at``) is checked, against the
ticket's own clock.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ...domain.lifecycle import Status
from ...domain.ticket import Event
from ...domain.times import load_time
from .. import consistency
from ..consistency import Counts, Rows, replays, sla_breach, states_match, tags_match
from ..findings import Finding, Progress, Report, Unreadable
from .locking import BUSY_TIMEOUT_MS
from .rows import (
    COLUMNS,
    SELECT,
    event_from_row,
    facets,
    state_to_row,
    ticket_from_row,
)
from .schema import applied_migrations, known_migrations

CHECKS: dict[str, str] = {
    "integrity": "SQLite's integrity_check and foreign_key_check",
    "schema": "the file's schema is this release's",
    **consistency.CHECKS,
    "search": "the search index holds each ticket's text and status, and nothing else",
    "imports": "no import left indexes to rebuild",
}
"""The checks, by name, with what each holds the file to."""

SHOWN_MESSAGES = 100
"""SQLite's integrity check stops after this many messages."""

# -- opening --------------------------------------------------------------------------


def open_read_only(path: str | Path, *, timeout: float = 1.0) -> sqlite3.Connection:
    """A read-only connection to the database file at ``path`` (``mode=ro``): it never
    writes the file, upgrades its schema or changes its journal mode. (SQLite may leave
    the empty ``-wal`` and ``-shm`` files any reader of a WAL file uses beside it.)

    Raises :class:`Unreadable` when there is no such file or it is not a SQLite
    database; a damaged database opens, for :func:`run` to say what is wrong.
    """
    target = Path(path)
    if str(path) == ":memory:":
        raise Unreadable("an in-memory database has no file to check; name a file")
    if not target.exists():
        raise Unreadable("no such file")
    if not target.is_file():
        raise Unreadable("it is not a file")
    uri = target.resolve().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
    except sqlite3.Error as error:
        raise Unreadable(str(error)) from error
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        if error.sqlite_errorname == "SQLITE_CORRUPT":
            return conn  # damaged, not foreign: the checks say what is wrong
        conn.close()
        if error.sqlite_errorname == "SQLITE_NOTADB":
            raise Unreadable(f"it is not a SQLite database ({error})") from error
        raise Unreadable(str(error)) from error
    return conn


# -- running --------------------------------------------------------------------------


@contextlib.contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every check sees the file as of one instant while others
    may go on writing. It ends in a rollback: there is nothing to commit (the temporary
    tables are dropped), and a damaged file may refuse even a commit."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def check_file(path: str | Path, progress: Progress | None = None) -> Report:
    """Check the database file at ``path`` without writing to it: opened read-only, its
    schema neither upgraded nor its journal mode changed, all checks in one read
    transaction (a snapshot, while others may go on writing). Raises
    :class:`~ayra_tickets.storage.findings.Unreadable` when it is missing or no
    database."""
    conn = open_read_only(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        with snapshot(conn):
            return run(conn, str(path), progress)
    finally:
        conn.close()


def run(conn: sqlite3.Connection, path: str, progress: Progress | None = None) -> Report:
    """Every check, in the caller's read transaction. SQLite's checks run first; the
    consistency checks need this release's schema, and run only on it."""
    findings = _guarded("integrity", integrity, conn)
    schema_found = _guarded("schema", schema, conn)
    findings += schema_found
    if any(finding.problem for finding in schema_found):
        return Report(path, ("integrity", "schema"), tuple(findings))
    counts = Counts()
    findings += _guarded("rows", lambda c: tickets_pass(c, counts, progress), conn)
    findings += _guarded("search", search_index, conn)
    findings += _guarded("imports", deferred_indexes, conn)
    return Report(path, tuple(CHECKS), tuple(findings), counts.tickets, counts.events)


def _guarded(
    check: str, function: Callable[[sqlite3.Connection], list[Finding]], conn: sqlite3.Connection
) -> list[Finding]:
    """A check's findings; a file too damaged for SQLite to read is one more finding,
    and the other checks still run."""
    try:
        return function(conn)
    except sqlite3.DatabaseError as error:
        return [Finding(check, f"SQLite could not read the file: {error}")]


# -- SQLite's own checks --------------------------------------------------------------


def integrity(conn: sqlite3.Connection) -> list[Finding]:
    """``PRAGMA integrity_check`` (b-trees, pages, indexes against their tables,
    NOT NULL and CHECK constraints) and ``PRAGMA foreign_key_check``."""
    messages = [
        line
        for (text,) in conn.execute(f"PRAGMA integrity_check({SHOWN_MESSAGES})")
        for line in str(text).splitlines()
        if line != "ok" and not line.startswith("*** in database")
    ]
    found = [_integrity_finding(conn, message) for message in messages]
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
        row = "a row" if rowid is None else f"row {rowid}"
        found.append(
            Finding(
                "integrity", f"{row} refers to a row of {parent} that is not there", table=table
            )
        )
    return found


_ROW_MISSING = re.compile(r"row (\d+) missing from index (\w+)")
_INDEX = re.compile(r"entries in index (\w+)")


def _integrity_finding(conn: sqlite3.Connection, message: str) -> Finding:
    """A message of the integrity check, with the table (and ticket) it is about when
    it says which: a tickets row's rowid is its number."""
    missing = _ROW_MISSING.search(message)
    if missing is not None:
        table = _table_of(conn, missing.group(2))
        number = int(missing.group(1)) if table == "tickets" else None
        return Finding("integrity", message, ticket=number, table=table)
    index = _INDEX.search(message)
    if index is not None:
        return Finding("integrity", message, table=_table_of(conn, index.group(1)))
    return Finding("integrity", message)


def _table_of(conn: sqlite3.Connection, index: str) -> str | None:
    with contextlib.suppress(sqlite3.DatabaseError):
        row = conn.execute("SELECT tbl_name FROM sqlite_master WHERE name = ?", (index,))
        found = row.fetchone()
        return None if found is None else str(found[0])
    return None


def schema(conn: sqlite3.Connection) -> list[Finding]:
    """Whether the file has exactly this release's migrations. An older file is not
    upgraded here (any other command upgrades it when it opens it); its consistency
    checks, which read the current tables, wait until it is."""
    db = Database(conn)
    if not db["tickets"].exists():
        raise Unreadable("it is not an ayra-tickets database: it has no tickets table")
    return consistency.schema_findings(
        known_migrations(), applied_migrations(db), "; only SQLite's checks ran"
    )


def deferred_indexes(conn: sqlite3.Connection) -> list[Finding]:
    """An import that dropped the tickets' list indexes and has not rebuilt them (it was
    stopped, or still runs): a note; the next writer to open the file rebuilds them."""
    row = conn.execute("SELECT value FROM settings WHERE key = 'deferred_indexes'").fetchone()
    if row is None:
        return []
    names = [name for name, _ in json.loads(row[0])]
    return [
        Finding(
            "imports",
            f"an import left {len(names)} indexes to rebuild ({', '.join(names)}); lists are"
            " slower until ayra-tickets next opens the file for writing, which rebuilds them",
            table="settings",
            problem=False,
        )
    ]


# -- the tickets, one pass ------------------------------------------------------------

_TICKETS = f"{SELECT} ORDER BY t.number"
_CREATED_AT = COLUMNS.index("created_at")
_BREACH_AT = COLUMNS.index("sla_breach_at")
_EVENTS = (
    "SELECT ticket_number, id, ticket_id, version, type, field, old_value, new_value, data,"
    " created_at FROM ticket_events ORDER BY ticket_number, id"
)
_TAGS = "SELECT ticket_number, tag, status FROM ticket_tags ORDER BY ticket_number, tag"
_STATES = (
    "SELECT ticket_number, version, began, ended, status, priority, resolves, closes"
    " FROM ticket_states ORDER BY ticket_number, version"
)


def tickets_pass(
    conn: sqlite3.Connection, counts: Counts, progress: Progress | None = None
) -> list[Finding]:
    """Every ticket with its events, tags and states, read in number order in one pass
    (four streams side by side), held to the engine's rules
    (:mod:`~ayra_tickets.storage.consistency`)."""
    (total,) = conn.execute("SELECT COALESCE(MAX(number), 0) FROM tickets").fetchone()
    return consistency.tickets_pass(
        conn.execute(_TICKETS),
        {
            name: conn.execute(sql)
            for name, sql in (("events", _EVENTS), ("tags", _TAGS), ("states", _STATES))
        },
        check_ticket,
        (lambda row: row[_CREATED_AT]) if _created_in_number_order(conn) else None,
        total,
        counts,
        progress,
    )


def _created_in_number_order(conn: sqlite3.Connection) -> bool:
    """Whether the file says creation times follow numbers (see ``TicketStore.by_number``)."""
    row = conn.execute("SELECT value FROM settings WHERE key = 'created_in_number_order'")
    return bool(row.fetchone() == ("1",))


def check_ticket(row: Sequence[Any], events: Rows, tags: Rows, states: Rows) -> list[Finding]:
    """One ticket's row held to its events, tag rows and state rows."""
    number = row[0]
    try:
        ticket = ticket_from_row(row)
        found = [*sla_breach(ticket, row[_BREACH_AT]), *tags_match(ticket, tags)]
        try:
            log = [_event(event) for event in events]
        except (ValueError, TypeError) as error:
            message = f"an event does not read ({error!r})"
            return [Finding("replay", message, number, "ticket_events"), *found]
        return [*replays(ticket, log), *found, *states_match(number, log, states, state_to_row)]
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        # A value of the wrong type or shape (a damaged or hand-edited row): said, not raised.
        return [Finding("rows", f"the row does not read as a ticket ({error!r})", number)]


def _event(row: Sequence[Any]) -> Event:
    """An event of the log (the row leads with its ticket's number); the data of those a
    replay passes over (notes, SLA events) is left unread, which halves the work on a big
    file."""
    _, event_id, ticket_id, version, kind, *_rest, created_at = row
    if kind == "note_added" or kind.startswith("sla_"):  # as replay() passes over them
        return Event(kind, load_time(created_at), version, ticket_id=ticket_id, id=event_id)
    return event_from_row(row[1:])


# -- the search index ------------------------------------------------------------------

_EXPECTED = "ayra_check_fts"


def search_index(conn: sqlite3.Connection) -> list[Finding]:
    """The search index holds exactly each ticket's subject, description and status
    token, and no other rows. FTS5's own ``integrity-check`` command needs write access,
    so this reads the whole index instead: it is compared, word by word and column by
    column, with an index built afresh from the tickets in the ``temp`` schema (not the
    file) with the same definition."""
    definition = conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'tickets_fts' AND type = 'table'"
    ).fetchone()
    if definition is None:
        return [Finding("search", "the search index is missing", table="tickets_fts")]
    with _expected_index(conn, definition[0]):
        numbers = _differing_documents(conn)
    return [
        Finding("search", "its search entry is not its subject, description and status", number)
        for number in sorted(numbers)
    ]


@contextlib.contextmanager
def _expected_index(conn: sqlite3.Connection, definition: str) -> Iterator[None]:
    """The index the tickets call for, and word lists of both, in ``temp`` while the
    block runs."""
    created = re.sub(
        r"^CREATE VIRTUAL TABLE\s+\S+", f"CREATE VIRTUAL TABLE temp.{_EXPECTED}", definition
    )
    conn.create_function("ayra_facets", 1, _facets, deterministic=True)
    try:
        conn.execute(created)
        conn.execute(
            f"INSERT INTO temp.{_EXPECTED} (rowid, subject, description, facets)"
            " SELECT number, subject, description, ayra_facets(status) FROM tickets"
        )
        for name, schema_name, table in (
            ("held", "main", "tickets_fts"),
            ("wanted", "temp", _EXPECTED),
        ):
            conn.execute(
                f"CREATE VIRTUAL TABLE temp.ayra_check_{name} USING fts5vocab"
                f"({schema_name}, {table}, 'instance')"
            )
        yield
    finally:
        for table in ("ayra_check_held", "ayra_check_wanted", _EXPECTED):
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _facets(status: str) -> str | None:
    try:
        return facets(Status(status))
    except ValueError:
        return None  # not a status: the row check says so


# Each word's entries summed up: how many, and two sums of a hash of (ticket, column).
# The instance lists come in word order, so grouping by word needs no sort; any change
# of a word's tickets or columns changes its sums (but for a collision of both 32-bit
# hashes at once), and only the words whose sums differ are compared entry by entry.
_SUMS = (
    "SELECT term, COUNT(*),"
    " SUM((doc * 2654435761 + unicode(col) * 40503 + length(col)) % 4294967291),"
    " SUM((doc * 40503 + length(col) * 2654435761 + unicode(col)) % 2147483647)"
    " FROM temp.ayra_check_{} GROUP BY term"
)
_ENTRIES = "SELECT doc, col FROM temp.ayra_check_{} WHERE term = ?"


def _differing_documents(conn: sqlite3.Connection) -> set[int]:
    """The numbers whose entries differ: a word in a column held and not wanted, or
    wanted and not held."""
    held, wanted = (
        {row[0]: row[1:] for row in conn.execute(_SUMS.format(side))} for side in ("held", "wanted")
    )
    numbers: set[int] = set()
    for term in held.keys() | wanted.keys():
        if held.get(term) != wanted.get(term):
            entries = [
                set(conn.execute(_ENTRIES.format(side), (term,))) for side in ("held", "wanted")
            ]
            numbers.update(doc for doc, _ in entries[0] ^ entries[1])
    return numbers
