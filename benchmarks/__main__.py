"""``python -m benchmarks [--tickets N] [--repeat R] [--json FILE]``: the engine beside raw
sqlite3 and beside the ORM store a developer would write instead.

Every measurement runs the same work on several sides in the same process, one after
the other in each run, the runs repeated (A, B, C, A, B, C, ...):

- ayra-tickets, through the Python API and through ``engine.request``;
- raw sqlite3 running the engine's own statements on a database with the same schema,
  indexes and durability setting (WAL, ``synchronous=NORMAL``): what the engine's SQL
  costs without the engine;
- the ORM peer (:mod:`benchmarks.orm_peer`): a plain SQLAlchemy 2 store of the same
  tickets, one event a change, three indexes;
- the minimal raw store (:mod:`benchmarks.minimal_raw`): a ticket row and one event row
  on the peer's tables through raw sqlite3, the floor under any store's writes.

The ratios of the sides are the figures that hold on a noisy machine. The table shows the
median run's throughput and latency percentiles, and the min and max throughput over the
runs; then the ratios, the pages each side writes to the log per create, and the bytes a
ticket takes after its create, update and close.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain.ids import random_token
from ayra_tickets.domain.sla import DEFAULT_POLICY
from ayra_tickets.domain.ticket import Event
from ayra_tickets.domain.ticket import close as close_ticket
from ayra_tickets.domain.ticket import create as build_ticket
from ayra_tickets.domain.ticket import update as update_ticket
from ayra_tickets.domain.times import format_time
from ayra_tickets.domain.validation import validate_create, validate_list, validate_update
from ayra_tickets.storage.sqlite.database import CACHE_KIB
from ayra_tickets.storage.sqlite.rows import (
    COLUMNS,
    END_STATE,
    INDEX_TEXT,
    INSERT,
    INSERT_STATE,
    SELECT,
    UPDATE,
    StateRow,
    first_state,
    state_row,
    ticket_to_row,
)
from benchmarks.minimal_raw import MinimalRaw
from benchmarks.orm_peer import OrmPeer, build_read_store
from benchmarks.workload import (
    BULK_CHUNK,
    CLOSE_BODY,
    LIST_CALLS,
    LIST_MIX,
    SEARCHES,
    SLICES,
    START,
    UPDATE_BODY,
    bodies,
    build_read_database,
    summary,
    timed,
)


def fresh_engine(folder: Path, name: str) -> Engine:
    clock = ManualClock(START)
    return Engine.open(folder / f"{name}.db", clock=clock)


def raw_connection(folder: Path, name: str) -> sqlite3.Connection:
    """A raw connection on a database with the engine's schema and settings."""
    fresh_engine(folder, name).close()
    conn = sqlite3.connect(folder / f"{name}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return conn


_RAW_EVENT = (
    "INSERT INTO ticket_events (ticket_number, ticket_id, version, type, field, old_value,"
    " new_value, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RAW_TAG = "INSERT INTO ticket_tags (tag, ticket_number, status) VALUES (?, ?, ?)"
_VERSION = COLUMNS.index("version")


def _event_rows(number: int, events: list[Event]) -> list[tuple[Any, ...]]:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return [
        (
            number,
            e.ticket_id,
            e.version,
            e.type,
            e.field,
            None if e.field is None else dumps(e.old),
            None if e.field is None else dumps(e.new),
            None if e.data is None else dumps(e.data),
            format_time(e.at),
        )
        for e in events
    ]


Rows = tuple[tuple[Any, ...], list[tuple[str, int]], list[tuple[Any, ...]], list[StateRow]]
"""A ticket's row, its tag rows, its events' rows, and the state it begins (if any)."""


def raw_rows(work: list[dict[str, Any]], at: datetime = START) -> list[Rows]:
    """The exact rows the engine writes for these creates (ticket, tags, events, state),
    random ids and all, prepared ahead: raw SQL gets a head start."""
    prepared = []
    for number, body in enumerate(work, start=1):
        ticket, events = build_ticket(
            "ticket_" + random_token(16), number, validate_create(body), at, DEFAULT_POLICY
        )
        tags = [(tag, number, ticket.status.value) for tag in ticket.tags]
        prepared.append(
            (ticket_to_row(ticket), tags, _event_rows(number, events), [first_state(ticket)])
        )
    return prepared


def raw_changes(work: list[dict[str, Any]], at: datetime) -> tuple[list[Rows], list[Rows]]:
    """The rows the engine writes to update, then close, each of these new tickets."""
    updates, closes = [], []
    for number, body in enumerate(work, start=1):
        ticket, _ = build_ticket(
            "ticket_" + random_token(16), number, validate_create(body), at, DEFAULT_POLICY
        )
        for moves, change, body_ in ((updates, update_ticket, UPDATE_BODY), (closes, None, None)):
            before = ticket
            if change is None:
                ticket, events = close_ticket(ticket, CLOSE_BODY, at, DEFAULT_POLICY)
            else:
                ticket, events = change(ticket, validate_update(body_), at, DEFAULT_POLICY)
            # tag rows carry the status: rewritten when it changes, as the engine does
            moved = ticket.status != before.status
            tags = [(tag, number, ticket.status.value) for tag in ticket.tags] if moved else []
            states = (
                [
                    state_row(
                        number,
                        ticket.version,
                        at,
                        str(ticket.status),
                        ticket.priority,
                        str(before.status),
                    )
                ]
                if (ticket.status, ticket.priority) != (before.status, before.priority)
                else []
            )
            moves.append((ticket_to_row(ticket), tags, _event_rows(number, events), states))
    return updates, closes


def bench_singles(folder: Path, work: list[dict[str, Any]], run: int) -> dict[str, list[float]]:
    """Single creates, updates and closes, each its own transaction: the Python API, the
    wire (``engine.request``), and the same statements through raw sqlite3."""
    results: dict[str, list[float]] = {}
    later = START + timedelta(hours=1)

    engine = fresh_engine(folder, f"api{run}")
    results["create (Python API)"] = timed(
        (lambda body=body: engine.tickets.create(**body)) for body in work
    )
    ids = [ticket["id"] for ticket in engine.tickets.export()]
    engine.clock.set(later)  # type: ignore[attr-defined]
    results["update (Python API)"] = timed(
        (lambda i=i: engine.tickets.update(i, **UPDATE_BODY)) for i in ids
    )
    results["close (Python API)"] = timed(
        (lambda i=i: engine.tickets.close(i, **CLOSE_BODY)) for i in ids
    )
    engine.close()

    engine = fresh_engine(folder, f"wire{run}")
    key = engine.keys.create()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    results["create (engine.request)"] = timed(
        (lambda body=body: engine.request("POST", "/v1/tickets", headers=headers, json=body))
        for body in work
    )
    ids = [ticket["id"] for ticket in engine.tickets.export()]
    engine.clock.set(later)  # type: ignore[attr-defined]
    results["update (engine.request)"] = timed(
        (lambda i=i: engine.request("PUT", f"/v1/tickets/{i}", headers=headers, json=UPDATE_BODY))
        for i in ids
    )
    results["close (engine.request)"] = timed(
        (
            lambda i=i: engine.request(
                "PUT", f"/v1/tickets/{i}/close", headers=headers, json=CLOSE_BODY
            )
        )
        for i in ids
    )
    engine.close()

    conn = raw_connection(folder, f"raw{run}")
    creates = raw_rows(work)
    updates, closes = raw_changes(work, later)

    def raw_create(
        row: tuple[Any, ...], tags: list[Any], events: list[Any], states: list[StateRow]
    ) -> None:
        conn.execute("BEGIN")
        conn.execute(INSERT, row)
        conn.execute(INDEX_TEXT, (row[0], row[2], row[3], "s" + row[5].replace("_", "")))
        conn.executemany(_RAW_TAG, tags)
        conn.executemany(INSERT_STATE, states)
        conn.executemany(_RAW_EVENT, events)
        conn.execute("COMMIT")

    def raw_change(
        row: tuple[Any, ...], tags: list[Any], events: list[Any], states: list[StateRow]
    ) -> None:
        # what a change costs in SQL: read the row, write it back, end the ticket's state
        # and begin the next one if the status or priority moved, append its events
        conn.execute("BEGIN")
        conn.execute("SELECT * FROM tickets WHERE number = ?", (row[0],)).fetchone()
        conn.execute(UPDATE, (*row[2:], row[0], row[_VERSION] - 1))  # as read: a version back
        if tags:
            conn.execute("DELETE FROM ticket_tags WHERE ticket_number = ?", (row[0],))
            conn.executemany(_RAW_TAG, tags)
        for state in states:
            conn.execute(END_STATE, (state[2], row[0]))
            conn.execute(INSERT_STATE, state)
        conn.executemany(_RAW_EVENT, events)
        conn.execute("COMMIT")

    results["create (raw sqlite3)"] = timed((lambda r=r: raw_create(*r)) for r in creates)
    results["update (raw sqlite3)"] = timed((lambda r=r: raw_change(*r)) for r in updates)
    results["close (raw sqlite3)"] = timed((lambda r=r: raw_change(*r)) for r in closes)
    conn.close()

    now = START
    with OrmPeer(folder / f"peer{run}.db", clock=lambda: now) as peer:
        results["create (ORM peer)"] = timed((lambda b=body: peer.create(b)) for body in work)
        ids = peer.ids()
        now = later
        results["update (ORM peer)"] = timed((lambda i=i: peer.update(i, UPDATE_BODY)) for i in ids)
        results["close (ORM peer)"] = timed((lambda i=i: peer.close(i, CLOSE_BODY)) for i in ids)
        SIZES.setdefault("ORM peer", []).append(peer.bytes_per_ticket())
    SIZES.setdefault("Python API", []).append(bytes_per_ticket(folder / f"api{run}.db"))

    least = MinimalRaw(folder / f"least{run}.db", START)
    results["create (minimal raw)"] = timed((lambda b=body: least.create(b)) for body in work)
    ids = [row[0] for row in least.conn.execute("SELECT id FROM tickets ORDER BY number")]
    least.now = later
    results["update (minimal raw)"] = timed((lambda i=i: least.update(i, UPDATE_BODY)) for i in ids)
    results["close (minimal raw)"] = timed((lambda i=i: least.close(i, CLOSE_BODY)) for i in ids)
    least.close_connection()
    return results


SIZES: dict[str, list[float]] = {}
"""Bytes per ticket after its create, update and close, by side, a figure a run."""


def bytes_per_ticket(path: Path) -> float:
    """A file's size per ticket, its log folded in first."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (count,) = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()
    finally:
        conn.close()
    return path.stat().st_size / count


PAGE_PROBE = 20
"""Creates per count of pages written: few enough that no automatic checkpoint (at 1,000
pages) restarts the log in between."""


def wal_frames(path: Path) -> int:
    """How many frames (pages) the write-ahead log of ``path`` holds."""
    wal = path.with_name(path.name + "-wal")
    size = wal.stat().st_size if wal.exists() else 0
    conn = sqlite3.connect(path)
    try:
        (page,) = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()
    return max(0, size - 32) // (24 + page)


def empty_log(path: Path) -> None:
    """Copy the log into the file and empty it, waiting out an engine's own background
    checkpoint (which holds the log meanwhile): frames left in it would be counted as a
    create's."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for _ in range(200):
            (busy, *_) = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy and wal_frames(path) == 0:
                return
            time.sleep(0.01)
        raise RuntimeError(f"the log of {path} could not be emptied")
    finally:
        conn.close()


def pages_per_create(folder: Path, work: list[dict[str, Any]]) -> dict[str, float]:
    """Pages written to the log per create, by side: the log emptied, then
    :data:`PAGE_PROBE` creates, then the log's frames counted."""
    probe = work[:PAGE_PROBE]
    found = {}
    engine = fresh_engine(folder, "pages-api")
    engine.tickets.create(**probe[0])  # the file's first pages are not a create's
    empty_log(folder / "pages-api.db")
    for body in probe:
        engine.tickets.create(**body)
    found["Python API"] = wal_frames(folder / "pages-api.db") / len(probe)
    engine.close()
    with OrmPeer(folder / "pages-peer.db", clock=lambda: START) as peer:
        peer.create(probe[0])
        empty_log(folder / "pages-peer.db")
        for body in probe:
            peer.create(body)
        found["ORM peer"] = wal_frames(folder / "pages-peer.db") / len(probe)
    least = MinimalRaw(folder / "pages-least.db", START)
    least.create(probe[0])
    empty_log(folder / "pages-least.db")
    for body in probe:
        least.create(body)
    found["minimal raw"] = wal_frames(folder / "pages-least.db") / len(probe)
    least.close_connection()
    return found


def bench_bulk(folder: Path, work: list[dict[str, Any]], run: int) -> dict[str, list[float]]:
    """The whole dataset in one go: import_many beside raw executemany of the same rows."""
    engine = fresh_engine(folder, f"bulk{run}")
    began = time.perf_counter()
    engine.tickets.import_many(work, chunk_size=BULK_CHUNK)
    ours = time.perf_counter() - began
    engine.close()
    rows = raw_rows(work)
    conn = raw_connection(folder, f"rawbulk{run}")
    began = time.perf_counter()
    for start in range(0, len(rows), BULK_CHUNK):
        chunk = rows[start : start + BULK_CHUNK]
        conn.execute("BEGIN")
        conn.executemany(INSERT, [row for row, *_ in chunk])
        conn.executemany(
            INDEX_TEXT,
            [(row[0], row[2], row[3], "s" + row[5].replace("_", "")) for row, *_ in chunk],
        )
        conn.executemany(_RAW_TAG, [tag for _, tags, _, _ in chunk for tag in tags])
        conn.executemany(INSERT_STATE, [state for *_, states in chunk for state in states])
        conn.executemany(_RAW_EVENT, [event for _, _, events, _ in chunk for event in events])
        conn.execute("COMMIT")
    raw = time.perf_counter() - began
    conn.close()
    with OrmPeer(folder / f"peerbulk{run}.db", clock=lambda: START) as peer:
        began = time.perf_counter()
        peer.bulk_insert(work, BULK_CHUNK)
        orm = time.perf_counter() - began
    for name in ("bulk", "rawbulk", "peerbulk"):
        (folder / f"{name}{run}.db").unlink()
    # One sample per ticket, so that ops/s reads as tickets per second.
    return {
        "bulk import (import_many)": [ours / len(work)] * len(work),
        "bulk import (raw executemany)": [raw / len(work)] * len(work),
        "bulk import (ORM peer)": [orm / len(work)] * len(work),
    }


def bench_reads(
    path: Path, now: datetime, rows: int, calls: int = LIST_CALLS
) -> dict[str, list[float]]:
    engine = Engine.open(path, clock=ManualClock(now))
    peer = OrmPeer(path.with_name("peer-read.db"), clock=lambda: now)
    results: dict[str, list[float]] = {}
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute(f"PRAGMA cache_size = -{CACHE_KIB}")

    def statements(params: dict[str, Any]) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
        """The two statements the engine runs for this list (prepared ahead for raw)."""
        query = validate_list(params)
        tickets: Any = engine.storage.tickets  # the SQLite repository: it shows its SQL

        def prepared() -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
            count, page = tickets.list_statements(query, now)
            (total,) = raw.execute(*count).fetchone()
            return count, page(total)

        count, (sql, args) = engine.storage.atomic(prepared)
        return count, (sql, [*args, query.per_page, 0])

    def raw_list(count: tuple[str, list[Any]], page: tuple[str, list[Any]]) -> None:
        raw.execute(*count).fetchone()
        raw.execute(*page).fetchall()

    mix = LIST_MIX + [{"search": words} for words in SEARCHES]
    for params in mix:
        label = ", ".join(f"{k}={v}" for k, v in params.items()) or "no filter"
        sql = statements(params)
        for _ in range(3):  # warm the cache, as for the raw side below
            engine.tickets.list(**params)
            raw_list(*sql)
            peer.list(params)
        results[f"list+total [{label}]"] = timed(
            (lambda p=params: engine.tickets.list(**p)) for _ in range(calls)
        )
        results[f"list+total [{label}] (raw sqlite3)"] = timed(
            (lambda s=sql: raw_list(*s)) for _ in range(calls)
        )
        results[f"list+total [{label}] (ORM peer)"] = timed(
            (lambda p=params: peer.list(p)) for _ in range(calls)
        )
    deep = rows // 25 - 2
    results["deep page by page="] = timed(
        (lambda: engine.tickets.list(page=deep)) for _ in range(10)
    )
    cursors = []
    page = engine.tickets.list(per_page=100)
    while page.meta["next_cursor"] and len(cursors) < 400:
        cursors.append(page.meta["next_cursor"])
        page = engine.tickets.list(per_page=100, cursor=page.meta["next_cursor"])
    results["deep page by cursor"] = timed(
        (lambda c=c: engine.tickets.list(per_page=100, cursor=c)) for c in cursors[-100:]
    )
    ids = [t.id for t in engine.tickets.list(per_page=100).data]
    results["get (Python API)"] = timed((lambda i=i: engine.tickets.get(i)) for i in ids)
    results["get (raw sqlite3)"] = timed(
        (lambda i=i: raw.execute(SELECT + " WHERE t.id = ?", (i,)).fetchone()) for i in ids
    )
    peer_ids = peer.ids()[-100:]
    results["get (ORM peer)"] = timed((lambda i=i: peer.get(i)) for i in peer_ids)
    peer.dispose()
    raw.close()
    engine.close()
    return results


EXPORT_PROBE = """
import resource, sys
from ayra_tickets import Engine
with Engine.open(sys.argv[1]) as engine:
    count = sum(1 for _ in engine.tickets.export())
try:  # the peak of this program's own memory (ru_maxrss also counts the parent's, on Linux)
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(count, peak)
"""


METRICS_CALLS = 5
"""Calls per metrics measurement, after the first."""


def bench_metrics(path: Path, now: datetime) -> dict[str, list[float]]:
    """engine.metrics over the whole dataset's week, by day, and the backlog half way: the
    first call of each (its indexes mostly on disk still), then METRICS_CALLS more with
    the cache warm, as the lists are measured."""
    engine = Engine.open(path, clock=ManualClock(now))
    start, end = START - timedelta(days=1), now
    middle = START + (now - START) / 2
    calls = {
        "metrics, whole window by day": lambda: engine.metrics(start, end),
        "metrics, whole window, priority 1": lambda: engine.metrics(start, end, priority=1),
        "metrics, one day by day": lambda: engine.metrics(START, START + timedelta(days=1)),
        "backlog at a past instant": lambda: engine.metrics.backlog(middle),
    }
    results = {}
    for name, call in calls.items():
        results[f"{name} (first call)"] = timed(call for _ in range(1))
        results[name] = timed(call for _ in range(METRICS_CALLS))
    engine.close()
    return results


def bench_export(folder: Path) -> dict[str, float]:
    """Export the read database in a child process; its peak RSS is the figure."""
    import subprocess
    import sys

    path = folder / "read.db"
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", EXPORT_PROBE, str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    elapsed = time.perf_counter() - began
    count, peak_kib = int(out[0]), int(out[1])
    size = path.stat().st_size + sum(
        p.stat().st_size for p in folder.glob("read.db-*") if p.exists()
    )
    return {
        "export_tickets": count,
        "export_seconds": elapsed,
        "export_tickets_per_s": count / elapsed,
        "export_peak_rss_mb": peak_kib / 1024,
        "db_bytes_per_ticket": size / count,
    }


def median_table(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Each measurement's median run (by throughput) and its min and max throughput over
    the runs, printed as a table."""
    table: dict[str, dict[str, float]] = {}
    width = max(62, *(len(name) for name in runs))
    header = (
        f"{'measurement':{width}} {'ops/s':>9} {'min':>9} {'max':>9} {'p50 ms':>8} {'p99 ms':>8}"
    )
    print(header)
    for name, results in runs.items():
        median = sorted(results, key=lambda r: r["ops_per_s"])[len(results) // 2]
        rates = [r["ops_per_s"] for r in results]
        table[name] = {**median, "ops_per_s_min": min(rates), "ops_per_s_max": max(rates)}
        print(
            f"{name:{width}} {median['ops_per_s']:9.0f} {min(rates):9.0f} {max(rates):9.0f}"
            f" {median['p50_us'] / 1000:8.3f} {median['p99_us'] / 1000:8.3f}"
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--tickets", type=int, default=20_000, help="tickets per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument(
        "--list-calls",
        type=int,
        default=LIST_CALLS,
        help=f"calls per list measurement, each side (default {LIST_CALLS})",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also run the PostgreSQL side on the database at URL (its user creates a"
        " schema for each measurement, dropped after)",
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgres", "both"),
        default="both",
        help="the sides to run (default: SQLite, and PostgreSQL when --postgres is given)",
    )
    args = parser.parse_args()
    if args.backend == "postgres" and not args.postgres:
        parser.error("--backend postgres needs --postgres URL")

    work = bodies(args.tickets)
    singles = work[: min(len(work), 2_000)]
    figures: dict[str, Any] = {}
    if args.backend != "postgres":
        figures |= sqlite_side(args.tickets, args.repeat, work, singles, args.list_calls)
    if args.backend == "sqlite" or not args.postgres:
        why = "--backend sqlite" if args.backend == "sqlite" else "no --postgres URL given"
        print(f"\nPostgreSQL: skipped ({why})")
    else:
        figures["postgres"] = postgres_side(
            args.postgres, args.repeat, work, singles, args.list_calls
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def postgres_side(
    url: str,
    repeat: int,
    work: list[dict[str, Any]],
    singles: list[dict[str, Any]],
    list_calls: int,
) -> dict[str, Any]:
    """The PostgreSQL side (:mod:`benchmarks.postgres`), printed; its JSON."""
    from benchmarks import postgres

    runs, extra = postgres.run(url, work, singles, repeat, list_calls)
    samples: dict[str, list[dict[str, float]]] = {}
    for found in runs:
        for name, taken in found.items():
            samples.setdefault(name, []).append(summary(taken))
    print(f"\n{len(work)} tickets ({len(singles)} single writes), {repeat} runs, PostgreSQL")
    table = median_table(samples)
    return {"tickets": len(work), "singles": len(singles), "repeat": repeat} | postgres.report(
        table, extra
    )


def sqlite_side(
    tickets: int,
    repeat: int,
    work: list[dict[str, Any]],
    singles: list[dict[str, Any]],
    list_calls: int,
) -> dict[str, Any]:
    """The SQLite side, printed; its JSON."""
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        print(f"building the read dataset of {len(work)} tickets ...", flush=True)
        now = build_read_database(Path(folder) / "read.db", work)
        peer_now = build_read_store(Path(folder) / "peer-read.db", work, START, SLICES)
        assert peer_now == now, (peer_now, now)  # both read a day after the last slice
        pages = pages_per_create(Path(folder), work)
        for run in range(repeat):
            print(f"run {run + 1} of {repeat} ...", flush=True)
            for name, samples in {
                **bench_singles(Path(folder), singles, run),
                **bench_bulk(Path(folder), work, run),
                **bench_reads(Path(folder) / "read.db", now, len(work), list_calls),
                **bench_metrics(Path(folder) / "read.db", now),
            }.items():
                runs.setdefault(name, []).append(summary(samples))
        extra = bench_export(Path(folder))

    print(f"\n{tickets} tickets, {repeat} runs, SQLite {sqlite3.sqlite_version}")
    table: dict[str, Any] = median_table(runs)
    print()
    ratios = {}
    pairs = [
        (f"{op} ({side})", f"{op} (raw sqlite3)")
        for op in ("create", "update", "close")
        for side in ("Python API", "engine.request")
    ]
    pairs += [
        ("bulk import (import_many)", "bulk import (raw executemany)"),
        ("get (Python API)", "get (raw sqlite3)"),
    ]
    for ours, raw in pairs:
        ratios[ours] = table[ours]["ops_per_s"] / table[raw]["ops_per_s"]
        print(f"{ours} / {raw}: {ratios[ours]:.2f}x of raw throughput")
    print()
    against = [
        (f"{op} ({side})", f"{op} ({other})")
        for op in ("create", "update", "close")
        for side in ("Python API", "engine.request")
        for other in ("ORM peer", "minimal raw")
    ]
    against += [
        ("bulk import (import_many)", "bulk import (ORM peer)"),
        ("get (Python API)", "get (ORM peer)"),
    ]
    for ours, other in against:
        ratios[f"{ours} / {other}"] = table[ours]["ops_per_s"] / table[other]["ops_per_s"]
        print(f"{ours} / {other}: {ratios[f'{ours} / {other}']:.2f}x")
    for op in ("create", "update", "close"):
        name = f"{op} (Python API)"
        ratios[f"{name} p99/p50"] = table[name]["p99_us"] / table[name]["p50_us"]
        print(f"{name}: p99 is {ratios[f'{name} p99/p50']:.1f}x its p50")
    for side, count in pages.items():
        print(f"pages written per create ({side}): {count:.1f}")
    sizes = {side: sorted(found)[len(found) // 2] for side, found in SIZES.items()}
    for side, size in sizes.items():
        print(f"bytes per ticket after create, update and close ({side}): {size:,.0f}")
    ratios["size / ORM peer"] = sizes["Python API"] / sizes["ORM peer"]
    print(f"size / ORM peer: {ratios['size / ORM peer']:.2f}x")
    for name in [
        n
        for n in table
        if n.startswith("list+total") and not n.endswith(("(raw sqlite3)", "(ORM peer)"))
    ]:
        raw_p99 = table[f"{name} (raw sqlite3)"]["p99_us"]
        ratios[name] = table[name]["p99_us"] / raw_p99
        peer_p99 = table[f"{name} (ORM peer)"]["p99_us"]
        ratios[f"{name} / ORM peer"] = peer_p99 / table[name]["p99_us"]
        print(
            f"{name}: p99 {ratios[name]:.2f}x of raw; the ORM peer's p99 is"
            f" {ratios[f'{name} / ORM peer']:.2f}x ours"
        )
    for key, value in extra.items():
        print(f"{key}: {value:,.1f}")
    figures = {"results": table, "ratios": ratios, "pages_per_create": pages, **extra}
    return {**figures, "bytes_per_ticket": sizes}


if __name__ == "__main__":
    main()
