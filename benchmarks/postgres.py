"""The PostgreSQL side of ``python -m benchmarks --postgres URL``: the engine on
PostgreSQL beside raw psycopg running the very statements the adapter runs.

Every measurement runs in a schema of its own of the database at the URL, made for it
and dropped after; the engine opens it by its URL, the raw side connects to another
with the adapter's own connection settings (autocommit, UTC, ``REPEATABLE READ``,
``READ WRITE`` or ``READ ONLY`` as the engine's transactions) and the adapter's schema.

- **Single creates, updates and closes**: each a transaction of the same statements as
  the adapter's, imported from it (same SQL text, same parameters, prepared ahead for
  the raw side): the policies' version, the counter row locked, the ticket with its
  search words, tags, state and events in one pipeline, the counter raised, the
  assignee's name; for a change the ticket read and locked, the versioned update, the
  tags and states rewritten as they moved, the events.
- **Bulk import**: ``import_many`` beside raw ``COPY`` of the same rows into the same
  tables, a transaction a chunk, then the same ``VACUUM (ANALYZE)``.
- **Lists**: a first page with its exact total for each filter of the SQLite side's
  mix, over the run's whole dataset, beside the same statements (the version, the count,
  the page) in a read-only transaction.

The sides take turns (A, B, A, B, ...) in blocks of calls within a run, so that the
machine's noise falls on both. After the single writes and the imports, each side's
tables are compared (every column but the random ticket ids): the figures are only
worth reading if both wrote the same rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain.ids import random_token
from ayra_tickets.domain.sla import DEFAULT_POLICY
from ayra_tickets.domain.ticket import Ticket, creator
from ayra_tickets.domain.ticket import close as close_ticket
from ayra_tickets.domain.ticket import update as update_ticket
from ayra_tickets.domain.validation import (
    validate_close,
    validate_create,
    validate_list,
    validate_update,
)
from ayra_tickets.storage.postgres import rows
from ayra_tickets.storage.postgres.accounts import AGENT_NAME
from ayra_tickets.storage.postgres.adapter import configure
from ayra_tickets.storage.postgres.policies import READ_SETTING, VERSION
from ayra_tickets.storage.postgres.rows import ChangeRows, NewRows, change_rows, new_rows
from ayra_tickets.storage.postgres.schema import new_schema, schema_address, upgrade
from ayra_tickets.storage.postgres.tickets import (
    ANALYZED,
    DELETE_TAGS,
    LOCK,
    LOCK_TICKET,
    RAISE_COUNTER,
    READ_COUNTER,
    VACUUM_ANALYZED,
)
from benchmarks.workload import (
    BULK_CHUNK,
    CLOSE_BODY,
    LIST_CALLS,
    LIST_MIX,
    SEARCHES,
    START,
    UPDATE_BODY,
    build_read_database,
    interleaved,
)

Connection = psycopg.Connection[Any]
Samples = dict[str, list[float]]

BLOCK = 50
"""Calls of one side before the other's turn."""
ENGINE, RAW = "ayra-tickets", "raw psycopg"
WRITES = ("create", "update", "close")


@contextlib.contextmanager
def scratch(url: str) -> Iterator[str]:
    """The address of a new, empty schema of the database at ``url``, dropped after."""
    with new_schema(url, "bench") as name:
        yield schema_address(url, name)


@contextlib.contextmanager
def raw_connection(address: str) -> Iterator[Connection]:
    """A connection set up as the adapter sets up its own, on the adapter's schema."""
    with psycopg.connect(address, autocommit=True) as conn:
        configure(conn)
        upgrade(conn)
        yield conn


@contextlib.contextmanager
def sides(url: str, clock: ManualClock) -> Iterator[tuple[str, Engine, Connection]]:
    """The two sides, each on a new schema: the engine's address and the engine, and a
    raw connection."""
    with (
        scratch(url) as ours,
        scratch(url) as theirs,
        Engine.open(ours, clock=clock) as engine,
        raw_connection(theirs) as conn,
    ):
        yield ours, engine, conn


@contextlib.contextmanager
def transaction(conn: Connection, *, write: bool) -> Iterator[None]:
    """A transaction shaped as the adapter's: ``REPEATABLE READ``, ``READ WRITE`` or
    ``READ ONLY``, the policies' version read first."""
    conn.read_only = not write
    with conn.transaction():
        conn.execute(READ_SETTING, (VERSION,)).fetchone()
        yield


# -- the rows the raw side writes, prepared ahead ---------------------------------------


def built(work: list[dict[str, Any]], at: datetime) -> list[tuple[Ticket, list[Any]]]:
    """New tickets from these create bodies, numbered from 1, made at ``at``: what the
    engine builds for them (random ids and all)."""
    make = creator(at, DEFAULT_POLICY)
    return [
        make("ticket_" + random_token(16), number, validate_create(body))
        for number, body in enumerate(work, start=1)
    ]


def prepared_writes(
    work: list[dict[str, Any]], later: datetime
) -> tuple[list[NewRows], list[tuple[str, ChangeRows]], list[tuple[str, ChangeRows]]]:
    """The rows of each ticket's create, then its update and its close at ``later`` (with
    the ticket's id, which a change reads it by)."""
    creates, updates, closes = [], [], []
    for ticket, events in built(work, START):
        creates.append(new_rows(ticket, events))
        updated, changed = update_ticket(
            ticket, validate_update(UPDATE_BODY), later, DEFAULT_POLICY
        )
        updates.append((ticket.id, change_rows(ticket, updated, changed)))
        closed, ended = close_ticket(updated, validate_close(CLOSE_BODY), later, DEFAULT_POLICY)
        closes.append((ticket.id, change_rows(updated, closed, ended)))
    return creates, updates, closes


# -- raw psycopg: the adapter's statements ---------------------------------------------


def raw_create(conn: Connection, new: NewRows) -> None:
    with transaction(conn, write=True):
        conn.execute(READ_COUNTER + LOCK).fetchone()
        with conn.pipeline(), conn.cursor() as cursor:
            cursor.execute(rows.INSERT, new.ticket)
            cursor.execute(RAISE_COUNTER, (new.state[0], new.state[2]))
            if new.tags:
                cursor.executemany(rows.INSERT_TAG, new.tags)
            cursor.execute(rows.INSERT_STATE, new.state)
            cursor.executemany(rows.INSERT_EVENT, new.events)
        assigned = new.ticket[rows.COLUMNS.index("assigned_to")]
        if assigned is not None:
            conn.execute(AGENT_NAME, (assigned,)).fetchone()


def raw_change(conn: Connection, ticket_id: str, change: ChangeRows) -> None:
    number = change.update[1][-2]
    with transaction(conn, write=True):
        conn.execute(rows.SELECT_BY_ID + LOCK_TICKET, (ticket_id,)).fetchone()
        assert conn.execute(*change.update).rowcount == 1
        with conn.pipeline(), conn.cursor() as cursor:
            if change.tags is not None:
                cursor.execute(DELETE_TAGS, (number,))
                if change.tags:
                    cursor.executemany(rows.INSERT_TAG, change.tags)
            if change.state is not None:
                cursor.execute(rows.END_STATE, (change.state[2], number))
                cursor.execute(rows.INSERT_STATE, change.state)
            cursor.executemany(rows.INSERT_EVENT, change.events)
        assigned = change.update[1][rows.COLUMNS.index("assigned_to") - 2]
        if assigned is not None:
            conn.execute(AGENT_NAME, (assigned,)).fetchone()


def raw_import(conn: Connection, chunks: list[list[NewRows]]) -> None:
    """The rows of an import, a ``COPY`` a table and a transaction a chunk, as
    ``import_many`` writes them; then the planner's statistics and the visibility map."""
    with transaction(conn, write=False):
        conn.execute(READ_COUNTER).fetchone()
    for chunk in chunks:
        with transaction(conn, write=True), conn.cursor() as cursor:
            cursor.execute(READ_COUNTER + LOCK).fetchone()
            with cursor.copy(rows.COPY_TICKETS) as copy:
                for new in chunk:
                    copy.write_row(new.ticket)
            with cursor.copy(rows.COPY_TAGS) as copy:
                for new in chunk:
                    for tag in new.tags:
                        copy.write_row(tag)
            with cursor.copy(rows.COPY_STATES) as copy:
                for new in chunk:
                    copy.write_row(new.state)
            with cursor.copy(rows.COPY_EVENTS) as copy:
                for new in chunk:
                    for event in new.events:
                        copy.write_row(event)
            cursor.execute(RAISE_COUNTER, (chunk[-1].state[0], chunk[-1].state[2]))
    with transaction(conn, write=True):
        pass  # the statistics' transaction: what they need runs once it commits
    conn.execute(VACUUM_ANALYZED)


# -- what both sides wrote -------------------------------------------------------------

_COMPARED = {
    # every column but the ticket's random id (and the events' own ids)
    "tickets": ", ".join(c for c in (*rows.COLUMNS, "search") if c != "id"),
    "ticket_tags": "t.*",
    "ticket_states": "t.*",
    "ticket_events": (
        "ticket_number, version, type, field, old_value::text, new_value::text,"
        " data::text, created_at"
    ),
    "ticket_counter": "t.*",
}


def fingerprint(conn: Connection) -> dict[str, tuple[int, str]]:
    """Each ticket table's row count and a digest of its rows (sorted as text)."""
    found = {}
    for table, columns in _COMPARED.items():
        row = conn.execute(
            "SELECT count(*), md5(string_agg(r.line, '|' ORDER BY r.line))"
            f" FROM (SELECT row({columns})::text AS line FROM {table} t) AS r"
        ).fetchone()
        assert row is not None
        found[table] = (int(row[0]), str(row[1]))
    return found


def same_rows(engine_address: str, raw: Connection) -> bool:
    """Whether the engine's schema and the raw side's hold the same rows."""
    with psycopg.connect(engine_address, autocommit=True) as conn:
        ours = fingerprint(conn)
    return ours == fingerprint(raw)


# -- the measurements ------------------------------------------------------------------


def bench_writes(url: str, work: list[dict[str, Any]]) -> tuple[Samples, bool, float]:
    """Single creates, then updates, then closes, each its own transaction, the engine's
    Python API and raw psycopg taking turns; whether they wrote the same rows, and the
    bytes a ticket takes on the engine's side after them."""
    later = START + timedelta(hours=1)
    creates, updates, closes = prepared_writes(work, later)
    with sides(url, ManualClock(START)) as (ours, engine, conn):
        samples = interleaved(
            {
                f"create ({ENGINE})": [
                    (lambda body=body: engine.tickets.create(**body)) for body in work
                ],
                f"create ({RAW})": [(lambda new=new: raw_create(conn, new)) for new in creates],
            },
            BLOCK,
        )
        ids = [ticket["id"] for ticket in engine.tickets.export()]
        engine.clock.set(later)  # type: ignore[attr-defined]
        samples |= interleaved(
            {
                f"update ({ENGINE})": [
                    (lambda i=i: engine.tickets.update(i, **UPDATE_BODY)) for i in ids
                ],
                f"update ({RAW})": [(lambda i=i, c=c: raw_change(conn, i, c)) for i, c in updates],
            },
            BLOCK,
        )
        samples |= interleaved(
            {
                f"close ({ENGINE})": [
                    (lambda i=i: engine.tickets.close(i, **CLOSE_BODY)) for i in ids
                ],
                f"close ({RAW})": [(lambda i=i, c=c: raw_change(conn, i, c)) for i, c in closes],
            },
            BLOCK,
        )
        return samples, same_rows(ours, conn), bytes_per_ticket(ours)


def bench_import(url: str, work: list[dict[str, Any]]) -> tuple[Samples, bool]:
    """The whole dataset in one go: ``import_many`` beside raw ``COPY`` of the same rows
    (prepared ahead), one sample a ticket (so that ops/s reads as tickets a second)."""
    news = [new_rows(ticket, events) for ticket, events in built(work, START)]
    chunks = [news[i : i + BULK_CHUNK] for i in range(0, len(news), BULK_CHUNK)]
    with sides(url, ManualClock(START)) as (ours, engine, conn):
        took = interleaved(
            {
                f"bulk import (import_many, {ENGINE})": [
                    lambda: engine.tickets.import_many(work, chunk_size=BULK_CHUNK)
                ],
                f"bulk import (COPY, {RAW})": [lambda: raw_import(conn, chunks)],
            },
            1,
        )
        same = same_rows(ours, conn)
    return {name: [seconds / len(work)] * len(work) for name, (seconds,) in took.items()}, same


def list_label(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "no filter"


def raw_lister(
    conn: Connection, count: tuple[str, list[Any]], page: tuple[str, list[Any]]
) -> Callable[[], None]:
    """A list's statements as the adapter runs them: the count, then (if anything
    matches) the first page, in a read-only transaction."""

    def raw_list() -> None:
        with transaction(conn, write=False):
            (total,) = conn.execute(*count).fetchone()  # type: ignore[misc]
            if total:
                conn.execute(*page).fetchall()

    return raw_list


def bench_lists(engine: Engine, conn: Connection, now: datetime, calls: int) -> Samples:
    """A first page with its total for each filter of the mix and each search, the engine
    beside the same statements raw, each side ``calls`` times."""
    samples: Samples = {}
    tickets: Any = engine.storage.tickets  # the PostgreSQL repository: it shows its SQL
    for params in [*LIST_MIX, *({"search": words} for words in SEARCHES)]:
        query = validate_list(params)
        count, (page_sql, page_args) = tickets.list_statements(query, now)
        raw_list = raw_lister(conn, count, (page_sql, [*page_args, query.per_page, 0]))

        def ours(p: dict[str, Any] = params) -> None:
            engine.tickets.list(**p)

        for _ in range(3):  # warm both: the cache, and each connection's prepared statements
            ours()
            raw_list()
        label = f"list+total [{list_label(params)}]"
        samples |= interleaved(
            {
                f"{label} ({ENGINE})": [ours] * calls,
                f"{label} ({RAW})": [raw_list] * calls,
            },
            BLOCK,
        )
    return samples


def bench_reads(url: str, work: list[dict[str, Any]], repeat: int, calls: int) -> list[Samples]:
    """The read dataset built once on PostgreSQL (as the SQLite side's), then the lists
    measured ``repeat`` times."""
    runs = []
    with scratch(url) as address:
        now = build_read_database(address, work)
        with (
            Engine.open(address, clock=ManualClock(now)) as engine,
            raw_connection(address) as conn,
        ):
            for _ in range(repeat):
                runs.append(bench_lists(engine, conn, now, calls))
    return runs


WAL_PROBE = 20
"""Creates per reading of the write-ahead log's position."""


def wal_bytes(conn: Connection) -> int:
    row = conn.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn").fetchone()
    assert row is not None
    return int(row[0])


def wal_per_create(url: str, work: list[dict[str, Any]]) -> dict[str, float]:
    """Bytes of write-ahead log a create writes, by side: the log's position before and
    after :data:`WAL_PROBE` creates, the least of three tries (the log is the whole
    server's: another's writes can only add to a reading). And the bytes a ticket takes
    (tables and indexes) after its create, update and close, the engine's side."""
    probe = work[:WAL_PROBE]
    creates, _, _ = prepared_writes(probe * 4, START)
    found: dict[str, list[float]] = {ENGINE: [], RAW: []}
    with sides(url, ManualClock(START)) as (_, engine, conn):
        engine.tickets.create(**probe[0])  # the tables' first pages are not a create's
        raw_create(conn, creates[0])

        def engine_creates(attempt: int) -> None:
            for body in probe:
                engine.tickets.create(**body)

        def raw_creates(attempt: int) -> None:
            start = 1 + attempt * len(probe)
            for new in creates[start : start + len(probe)]:
                raw_create(conn, new)

        turns: list[tuple[str, Callable[[int], None]]] = [
            (ENGINE, engine_creates),
            (RAW, raw_creates),
        ]
        for attempt in range(3):  # each side first in turn: a checkpoint hits either
            for side, creating in turns[attempt % 2 :] + turns[: attempt % 2]:
                began = wal_bytes(conn)
                creating(attempt)
                found[side].append((wal_bytes(conn) - began) / len(probe))
    return {side: min(readings) for side, readings in found.items()}


def bytes_per_ticket(address: str) -> float:
    """The ticket tables' size (with their indexes and TOAST) per ticket."""
    with psycopg.connect(address, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)), (SELECT count(*) FROM tickets)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            " AND c.relname = ANY(%s)",
            ([*ANALYZED, "ticket_counter"],),
        ).fetchone()
    assert row is not None
    return float(row[0]) / max(1, int(row[1]))


def run(
    url: str,
    work: list[dict[str, Any]],
    singles: list[dict[str, Any]],
    repeat: int,
    list_calls: int = LIST_CALLS,
) -> tuple[list[Samples], dict[str, Any]]:
    """Every PostgreSQL measurement, ``repeat`` runs of each: the samples of each run,
    and the figures that are not timings (whether both sides wrote the same rows, the
    log and the tables' bytes)."""
    runs: list[Samples] = []
    same = {"single writes": True, "bulk import": True}
    sizes = []
    for index in range(repeat):
        print(f"PostgreSQL run {index + 1} of {repeat}: single writes, import ...", flush=True)
        writes, same_writes, size = bench_writes(url, singles)
        imports, same_imports = bench_import(url, work)
        same["single writes"] &= same_writes
        same["bulk import"] &= same_imports
        sizes.append(size)
        runs.append(writes | imports)
    print(f"PostgreSQL: building the read dataset of {len(work)} tickets ...", flush=True)
    for index, lists in enumerate(bench_reads(url, work, repeat, list_calls)):
        runs[index] |= lists
    with psycopg.connect(url) as conn:
        (server,) = conn.execute("SHOW server_version").fetchone()  # type: ignore[misc]
    extra = {
        "server": f"PostgreSQL {server}",
        "same_rows": same,
        "wal_bytes_per_create": wal_per_create(url, work),
        "bytes_per_ticket": sorted(sizes)[len(sizes) // 2],
    }
    return runs, extra


def ratios(table: dict[str, dict[str, float]]) -> dict[str, float]:
    """The engine's figures against raw psycopg's, as shares of raw's speed (1: as fast,
    0.5: half as fast): throughput for the writes and the import, p99 for the lists."""
    found = {}
    for op in WRITES:
        found[op] = table[f"{op} ({ENGINE})"]["ops_per_s"] / table[f"{op} ({RAW})"]["ops_per_s"]
    found["bulk import"] = (
        table[f"bulk import (import_many, {ENGINE})"]["ops_per_s"]
        / table[f"bulk import (COPY, {RAW})"]["ops_per_s"]
    )
    for name in table:
        if name.startswith("list+total") and name.endswith(f"({ENGINE})"):
            label = name.removesuffix(f" ({ENGINE})")
            found[f"{label} p99"] = table[f"{label} ({RAW})"]["p99_us"] / table[name]["p99_us"]
    return found


def report(table: dict[str, dict[str, float]], extra: dict[str, Any]) -> dict[str, Any]:
    """Print the ratios and the other figures (the table itself is printed with the
    SQLite side's); return the JSON of the PostgreSQL side."""
    found = ratios(table)
    print(f"\n{extra['server']}: ayra-tickets as a share of raw psycopg's speed")
    for name, ratio in found.items():
        what = "p99" if name.endswith(" p99") else "throughput"
        print(f"{name.removesuffix(' p99')}: {ratio:.2f}x of raw {what}")
    worst = max(
        (row["p99_us"] for name, row in table.items() if name.startswith("list+total [")),
        default=0.0,
    )
    print(f"slowest list+total p99 ({ENGINE} and raw): {worst / 1000:.1f} ms")
    for side, size in extra["wal_bytes_per_create"].items():
        print(f"write-ahead log per create ({side}): {size:,.0f} bytes")
    print(f"bytes per ticket after create, update and close ({ENGINE}): ", end="")
    print(f"{extra['bytes_per_ticket']:,.0f}")
    for kind, same in extra["same_rows"].items():
        print(f"{kind}: both sides wrote the same rows: {'yes' if same else 'NO'}")
    return {"results": table, "ratios": found, **extra}
