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
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
from sqlite_utils import Database

from ...domain.lifecycle import Status
from ...domain.sla import breach_at
from ...domain.ticket import Event, Ticket, replay, unlinked
from ...domain.times import format_optional, format_time, load_time
from ..findings import Finding, Progress, Report, Unreadable
from .locking import BUSY_TIMEOUT_MS
from .rows import (
    COLUMNS,
    SELECT,
    StateRow,
    event_from_row,
    facets,
    state_rows,
    ticket_from_row,
)
from .schema import applied_migrations, known_migrations

CHECKS: dict[str, str] = {
    "integrity": "SQLite's integrity_check and foreign_key_check",
    "schema": "the file's schema is this release's",
    "numbers": "ticket numbers run from 1 to the highest without a gap, in creation order",
    "rows": "every ticket's row reads as a ticket",
    "replay": "every ticket's events replay to its row (fields, status, version, times)",
    "sla": "every ticket's stored breach time is the one its SLA clock gives",
    "tags": "ticket_tags holds each ticket's tags, with its status, and nothing else",
    "states": "ticket_states holds what each ticket's log says",
    "search": "the search index holds each ticket's text and status, and nothing else",
    "imports": "no import left indexes to rebuild",
}
"""The checks, by name, with what each holds the file to."""

SHOWN_MESSAGES = 100
"""SQLite's integrity check stops after this many messages."""

PROGRESS_EVERY = 10_000
"""Tickets between two calls of a progress callback."""


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
    known = known_migrations()
    applied = applied_migrations(db)
    unknown = [name for name in applied if name not in known]
    if unknown:
        return [
            Finding(
                "schema",
                f"written by a newer release of ayra-tickets (its schema has {', '.join(unknown)});"
                " only SQLite's checks ran: check it with that release",
            )
        ]
    pending = [name for name in known if name not in applied]
    if pending:
        return [
            Finding(
                "schema",
                f"written by an older release: {len(applied)} of {len(known)} schema migrations"
                f" applied (next: {pending[0]}); only SQLite's checks ran. Opening it with"
                " ayra-tickets (any other command) upgrades it; then check it again",
            )
        ]
    return []


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


@attrs.define
class Counts:
    """How many tickets and events the pass has read."""

    tickets: int = 0
    events: int = 0


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

Rows = list[tuple[Any, ...]]


class _Grouped:
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


def tickets_pass(
    conn: sqlite3.Connection, counts: Counts, progress: Progress | None = None
) -> list[Finding]:
    """Every ticket with its events, tags and states, read in number order in one pass
    (four streams side by side, no query per ticket), each held to the checks below."""
    tickets = conn.execute(_TICKETS)
    streams = {
        name: _Grouped(conn.execute(sql))
        for name, sql in (("events", _EVENTS), ("tags", _TAGS), ("states", _STATES))
    }
    in_order = _created_in_number_order(conn)
    (total,) = conn.execute("SELECT COALESCE(MAX(number), 0) FROM tickets").fetchone()
    found: list[Finding] = []
    expected, last_created = 1, None
    for row in tickets:
        number = row[0]
        for name, stream in streams.items():
            found += _orphans(name, stream.before(number))
        if number != expected:
            found.append(_gap(expected, number))
        expected = number + 1
        if in_order and last_created is not None and row[_CREATED_AT] < last_created:
            found.append(Finding("numbers", "created before the ticket numbered before it", number))
        last_created = row[_CREATED_AT]
        events, tags, states = (stream.take(number) for stream in streams.values())
        found += check_ticket(row, events, tags, states)
        counts.tickets += 1
        counts.events += len(events)
        if progress is not None and counts.tickets % PROGRESS_EVERY == 0:
            progress(counts.tickets, total)
    for name, stream in streams.items():
        found += _orphans(name, stream.before(None))
    return found


def _created_in_number_order(conn: sqlite3.Connection) -> bool:
    """Whether the file says creation times follow numbers (see ``TicketStore.by_number``)."""
    row = conn.execute("SELECT value FROM settings WHERE key = 'created_in_number_order'")
    return bool(row.fetchone() == ("1",))


def _gap(expected: int, number: int) -> Finding:
    """The numbers below ``number`` down to ``expected`` have no ticket. (Tickets lost
    from the end leave no gap: the highest number is the only counter there is, see
    ``TicketStore.next_number``; their events, tags and states show as orphans.)"""
    if number == expected + 1:
        missing = "there is no such ticket"
    else:
        missing = f"there is no such ticket, nor any up to TICK-{number - 1}"
    return Finding("numbers", f"{missing}: the numbers jump to TICK-{number}", expected)


_ORPHAN_CHECKS = {"events": "replay", "tags": "tags", "states": "states"}
_TABLES = {"events": "ticket_events", "tags": "ticket_tags", "states": "ticket_states"}


def _orphans(name: str, groups: Iterable[tuple[int, Rows]]) -> list[Finding]:
    return [
        Finding(
            _ORPHAN_CHECKS[name],
            f"{len(rows)} rows of {_TABLES[name]} for a ticket that does not exist",
            number,
            _TABLES[name],
        )
        for number, rows in groups
    ]


def check_ticket(row: Sequence[Any], events: Rows, tags: Rows, states: Rows) -> list[Finding]:
    """One ticket's row held to its events, tag rows and state rows."""
    number = row[0]
    try:
        ticket = ticket_from_row(row)
        return [
            *replays(ticket, events),
            *sla_breach(ticket, row[_BREACH_AT]),
            *tags_match(ticket, tags),
            *states_match(number, events, states),
        ]
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


def replays(ticket: Ticket, rows: Rows) -> list[Finding]:
    """The ticket's log, replayed from its ``created`` event through each change
    (:func:`~ayra_tickets.domain.ticket.replay`), gives its row: every persistent
    field, its version and ``updated_at``. Every change's old value is the one before
    it, every version from 1 to the row's has an event, and every event names the
    ticket's id. Not checked (not in the log): the SLA columns; and an event whose loss
    changes nothing above (a note or an SLA event of a write whose other events remain,
    or a ticket's last events together with its row's matching change) goes unnoticed."""
    number = ticket.number
    if not rows:
        return [Finding("replay", "the ticket has no events", number, "ticket_events")]
    try:
        events = [_event(row) for row in rows]
    except (ValueError, TypeError) as error:
        return [Finding("replay", f"an event does not read ({error!r})", number, "ticket_events")]
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
            f"event {event.id} changes {event.field} from {_brief(event.old)}, but the log"
            f" had {_brief(had)} before it: a change between them is missing",
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
                    f"{name} is {_brief(shown.get(name))} in the row,"
                    f" {_brief(logged.get(name))} in the log",
                    number,
                )
            )
    return found


def _brief(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def sla_breach(ticket: Ticket, stored: str | None) -> list[Finding]:
    """The stored ``sla_breach_at`` (which lists filter on) is the one the ticket's own
    clock gives. The clock's columns themselves are not in the log and not checked."""
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
    """``ticket_tags`` holds one row per tag of the ticket, each with its status."""
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


def states_match(number: int, events: Rows, rows: Rows) -> list[Finding]:
    """``ticket_states`` holds the stretches the log gives (derived by
    :func:`~ayra_tickets.storage.sqlite.rows.state_rows`, as on upgrade)."""
    relevant = [
        (number, version, kind, field, old, new, data, at)
        for _, _, _, version, kind, field, old, new, data, at in events
        if kind == "created" or field in ("status", "priority")
    ]
    if not relevant or relevant[0][2] != "created":
        return []  # no log to derive them from: the replay check says so
    try:
        logged = state_rows(relevant)
    except (ValueError, TypeError, KeyError) as error:
        return [Finding("states", f"the log does not give states ({error!r})", number)]
    held: list[Any] = [tuple(row) for row in rows]
    if held == logged:
        return []
    return [Finding("states", _state_difference(held, logged), number, "ticket_states")]


_STATE_COLUMNS = (
    "ticket_number",
    "version",
    "began",
    "ended",
    "status",
    "priority",
    "resolves",
    "closes",
)


def _state_difference(held: Sequence[StateRow], logged: Sequence[StateRow]) -> str:
    """The first difference between the table's states and the log's, in words."""
    for ours, theirs in zip(held, logged, strict=False):
        if ours != theirs:
            changed = [
                f"{name} is {a!r}, the log says {b!r}"
                for name, a, b in zip(_STATE_COLUMNS, ours, theirs, strict=True)
                if a != b
            ]
            return f"the state of version {ours[1]}: {'; '.join(changed)}"
    if len(held) > len(logged):
        return f"{len(held) - len(logged)} states the log does not give (from version {held[len(logged)][1]})"
    return (
        f"{len(logged) - len(held)} states of the log missing (from version {logged[len(held)][1]})"
    )


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
