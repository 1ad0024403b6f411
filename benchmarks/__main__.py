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
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
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

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
# Text for search: a Zipf-distributed vocabulary, as in real tickets. The first ranks are
# the words every ticket has, then the support terms people search for (a few per cent
# of tickets each), then a long tail of rarer words.
COMMON = "the to and a i is it on my for not with this we have please can you".split()
TERMS = (
    "refund invoice charge login password reset export crash slow timeout billing "
    "account upgrade downgrade webhook api token sync mobile desktop printer email "
    "attachment ink report dashboard permission error install update license "
    "subscription card declined notification calendar import backup restore"
).split()
CATEGORIES = ("technical", "billing", "account", "product", "bug", "feature_request")
CREATE_STATUSES = ("new", "new", "open", "open", "in_progress")


def _vocabulary(size: int = 5_000) -> tuple[list[str], list[float]]:
    rng = random.Random(3)
    letters = "bcdfghjklmnprstvwz"
    tail = {
        "".join(rng.choice(letters) + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
        for _ in range(size)
    }
    words = COMMON + TERMS + sorted(tail - set(COMMON) - set(TERMS))
    weights, total = [], 0.0
    for rank in range(1, len(words) + 1):
        total += 1 / rank**1.07
        weights.append(total)
    return words, weights


def bodies(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Create bodies: skewed assignees and contacts, a mix of statuses and priorities,
    due dates on some, tags on most, subjects and descriptions of Zipfian text."""
    rng = random.Random(seed)
    words, weights = _vocabulary()
    made = []
    for _ in range(count):
        body = {
            "subject": " ".join(rng.choices(words, cum_weights=weights, k=6)).capitalize(),
            "description": " ".join(rng.choices(words, cum_weights=weights, k=45)),
            "priority": rng.choice((1, 2, 3, 3, 3, 4)),
            "status": rng.choice(CREATE_STATUSES),
            "category": rng.choice(CATEGORIES),
            "contact_id": f"contact_{int(rng.paretovariate(1.2)) % 5000}",
            "assigned_to": f"user_{int(rng.paretovariate(1.5)) % 40}",
            "tags": rng.sample(TERMS[:10], k=rng.randint(0, 2)),
        }
        if rng.random() < 0.3:
            due = START + timedelta(hours=rng.randint(1, 24 * 30))
            body["due_date"] = due.isoformat().replace("+00:00", "Z")
        made.append(body)
    return made


def timed(calls: Iterator[Callable[[], Any]]) -> list[float]:
    samples = []
    for call in calls:
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e6

    return {
        "ops_per_s": len(samples) / sum(samples),
        "p50_us": pct(0.50),
        "p95_us": pct(0.95),
        "p99_us": pct(0.99),
    }


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
UPDATE_BODY = {"status": "in_progress", "priority": 2, "assigned_to": "user_7"}
CLOSE_BODY = {"resolution_note": "Fixed in the latest release", "customer_satisfaction": 9}


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
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
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


LIST_CALLS = 200
"""Calls per list measurement: enough that p99 is not simply the slowest call."""

LIST_MIX: list[dict[str, Any]] = [
    {},
    {"status": "open"},
    {"status": "open", "priority": 2},
    {"status": "open", "priority": 2, "assigned_to": "user_1"},
    {"assigned_to": "user_3"},
    {"contact_id": "contact_2"},
    {"sla_breach": True},
    {"sla_breach": True, "status": "open"},
    {"tags": "refund"},
    {"tags": "refund", "status": "open"},
    {"created_after": "2025-01-18T00:00:00Z", "created_before": "2025-01-19T00:00:00Z"},
    {"due_before": "2025-01-22T00:00:00Z", "status": "in_progress"},
    {"category": "billing", "sort_by": "priority"},
    {"status": "open", "sort_by": "due_date", "sort_order": "asc"},
    {"search": "invoice", "status": "open"},
]
SEARCHES = ("invoice", "printer ink", "refund login password", "declined card")
SLICES = 100  # the read dataset arrives in this many imports, two hours apart
BULK_CHUNK = 10_000  # rows per transaction, for both sides


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


def build_read_database(path: Path, work: list[dict[str, Any]]) -> datetime:
    """The dataset the reads run over: created in slices two hours apart, a sample then
    moved on (waiting, resolved, closed), read a day after the last slice. Returns that
    moment."""
    clock = ManualClock(START)
    with Engine.open(path, clock=clock) as engine:
        size = -(-len(work) // SLICES)
        for start in range(0, len(work), size):
            engine.tickets.import_many(work[start : start + size], chunk_size=BULK_CHUNK)
            clock.advance(timedelta(hours=2))
        moves = random.Random(11)
        sample = [t["id"] for t in engine.tickets.export(status="open")]
        for ticket_id in moves.sample(sample, k=min(len(sample) // 10, 3_000)):
            move = moves.choice(("waiting_on_customer", "resolved", "close"))
            if move == "close":
                engine.tickets.close(ticket_id, customer_satisfaction=moves.randint(1, 10))
            else:
                engine.tickets.update(ticket_id, status=move)
        clock.advance(timedelta(days=1))
        return clock.now()


def bench_reads(path: Path, now: datetime, rows: int) -> dict[str, list[float]]:
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
            (lambda p=params: engine.tickets.list(**p)) for _ in range(LIST_CALLS)
        )
        results[f"list+total [{label}] (raw sqlite3)"] = timed(
            (lambda s=sql: raw_list(*s)) for _ in range(LIST_CALLS)
        )
        results[f"list+total [{label}] (ORM peer)"] = timed(
            (lambda p=params: peer.list(p)) for _ in range(LIST_CALLS)
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--tickets", type=int, default=20_000, help="tickets per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()

    work = bodies(args.tickets)
    singles = work[: min(len(work), 2_000)]
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        print(f"building the read dataset of {len(work)} tickets ...", flush=True)
        now = build_read_database(Path(folder) / "read.db", work)
        peer_now = build_read_store(Path(folder) / "peer-read.db", work, START, SLICES)
        assert peer_now == now, (peer_now, now)  # both read a day after the last slice
        pages = pages_per_create(Path(folder), work)
        for run in range(args.repeat):
            print(f"run {run + 1} of {args.repeat} ...", flush=True)
            for name, samples in {
                **bench_singles(Path(folder), singles, run),
                **bench_bulk(Path(folder), work, run),
                **bench_reads(Path(folder) / "read.db", now, len(work)),
                **bench_metrics(Path(folder) / "read.db", now),
            }.items():
                runs.setdefault(name, []).append(summary(samples))
        extra = bench_export(Path(folder))

    table: dict[str, Any] = {}
    print(f"\n{args.tickets} tickets, {args.repeat} runs, SQLite {sqlite3.sqlite_version}")
    header = f"{'measurement':62} {'ops/s':>9} {'min':>9} {'max':>9} {'p50 ms':>8} {'p99 ms':>8}"
    print(header)
    for name, results in runs.items():
        median = sorted(results, key=lambda r: r["ops_per_s"])[len(results) // 2]
        rates = [r["ops_per_s"] for r in results]
        table[name] = {**median, "ops_per_s_min": min(rates), "ops_per_s_max": max(rates)}
        print(
            f"{name:62} {median['ops_per_s']:9.0f} {min(rates):9.0f} {max(rates):9.0f}"
            f" {median['p50_us'] / 1000:8.3f} {median['p99_us'] / 1000:8.3f}"
        )
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
    if args.json:
        figures = {"results": table, "ratios": ratios, "pages_per_create": pages, **extra}
        args.json.write_text(json.dumps({**figures, "bytes_per_ticket": sizes}, indent=2))


if __name__ == "__main__":
    main()
