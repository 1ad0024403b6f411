"""``python -m benchmarks [--tickets N] [--repeat R] [--json FILE]``: the engine beside raw sqlite3.

Every measurement runs the same work twice in the same process: once through
ayra-tickets, once as hand-written SQL through the ``sqlite3`` module on a database with
the same schema, indexes and durability setting (WAL, ``synchronous=NORMAL``). The
ratio of the two is the figure that holds on a noisy machine. Each measurement is
repeated; the table shows the median run's throughput and latency percentiles, and the
min and max throughput over the runs.
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
from ayra_tickets.domain.sla import DEFAULT_POLICY
from ayra_tickets.domain.ticket import create as build_ticket
from ayra_tickets.domain.validation import validate_create, validate_list
from ayra_tickets.storage.accounts import random_token
from ayra_tickets.storage.database import CACHE_KIB
from ayra_tickets.storage.tickets import _INDEX_TEXT, _INSERT, ticket_to_row

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
WORDS = (
    "refund invoice charge login password reset export crash slow timeout billing account "
    "upgrade downgrade webhook api token sync mobile desktop printer email attachment"
).split()
CATEGORIES = ("technical", "billing", "account", "product", "bug", "feature_request")


def bodies(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        made.append(
            {
                "subject": " ".join(rng.choices(WORDS, k=5)).capitalize(),
                "description": " ".join(rng.choices(WORDS, k=40)),
                "priority": rng.choice((1, 2, 3, 3, 3, 4)),
                "category": rng.choice(CATEGORIES),
                "contact_id": f"contact_{int(rng.paretovariate(1.2)) % 500}",
                "assigned_to": f"user_{int(rng.paretovariate(1.5)) % 20}",
                "tags": rng.sample(WORDS[:8], k=rng.randint(0, 3)),
            }
        )
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
    "INSERT INTO ticket_events (ticket_number, ticket_id, version, type, data, created_at)"
    " VALUES (?, ?, 1, ?, ?, ?)"
)
Rows = tuple[tuple[Any, ...], list[str], list[tuple[str, str]]]


def raw_rows(work: list[dict[str, Any]]) -> list[Rows]:
    """The exact rows the engine would write (ticket, tags, events), random ids and all,
    prepared ahead: raw SQL gets a head start."""
    prepared = []
    for number, body in enumerate(work, start=1):
        ticket, events = build_ticket(
            "ticket_" + random_token(16), number, validate_create(body), START, DEFAULT_POLICY
        )
        rows = [(e.type, json.dumps(e.data, separators=(",", ":"))) for e in events]
        prepared.append((ticket_to_row(ticket), list(ticket.tags), rows))
    return prepared


def bench_creates(folder: Path, work: list[dict[str, Any]], run: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}

    engine = fresh_engine(folder, f"api{run}")
    results["create (Python API)"] = timed(
        (lambda body=body: engine.tickets.create(**body)) for body in work
    )
    engine.close()

    engine = fresh_engine(folder, f"wire{run}")
    key = engine.keys.create()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    results["create (engine.request)"] = timed(
        (lambda body=body: engine.request("POST", "/v1/tickets", headers=headers, json=body))
        for body in work
    )
    engine.close()

    conn = raw_connection(folder, f"raw{run}")
    rows = raw_rows(work)

    def raw_create(row: tuple[Any, ...], tags: list[str], events: list[tuple[str, str]]) -> None:
        conn.execute("BEGIN")
        conn.execute(_INSERT, row)
        conn.execute(_INDEX_TEXT, (row[0], row[2], row[3]))
        conn.executemany(
            "INSERT INTO ticket_tags (tag, ticket_number) VALUES (?, ?)",
            [(tag, row[0]) for tag in tags],
        )
        conn.executemany(
            _RAW_EVENT, [(row[0], row[1], kind, data, row[23]) for kind, data in events]
        )
        conn.execute("COMMIT")

    results["create (raw sqlite3)"] = timed((lambda r=r: raw_create(*r)) for r in rows)
    conn.close()
    return results


LIST_MIX: list[dict[str, Any]] = [
    {},
    {"status": "open"},
    {"status": "open", "priority": 2},
    {"status": "open", "priority": 2, "assigned_to": "user_1"},
    {"assigned_to": "user_3"},
    {"sla_breach": True, "status": "open"},
    {"tags": "refund"},
    {"created_after": "2025-01-15T12:00:00Z"},
    {"category": "billing", "sort_by": "priority"},
    {"status": "open", "sort_by": "due_date", "sort_order": "asc"},
]


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
        conn.executemany(_INSERT, [row for row, _, _ in chunk])
        conn.executemany(_INDEX_TEXT, [(row[0], row[2], row[3]) for row, _, _ in chunk])
        conn.executemany(
            "INSERT INTO ticket_tags (tag, ticket_number) VALUES (?, ?)",
            [(tag, row[0]) for row, tags, _ in chunk for tag in tags],
        )
        conn.executemany(
            _RAW_EVENT,
            [
                (row[0], row[1], kind, data, row[23])
                for row, _, events in chunk
                for kind, data in events
            ],
        )
        conn.execute("COMMIT")
    raw = time.perf_counter() - began
    conn.close()
    # One sample per ticket, so that ops/s reads as tickets per second.
    return {
        "bulk import (import_many)": [ours / len(work)] * len(work),
        "bulk import (raw executemany)": [raw / len(work)] * len(work),
    }


def bench_reads(folder: Path, work: list[dict[str, Any]], run: int) -> dict[str, list[float]]:
    path = folder / f"read{run}.db"
    engine = Engine.open(path, clock=ManualClock(START))
    engine.tickets.import_many(work)
    moves = random.Random(run)
    for ticket_id in [t["id"] for t in engine.tickets.export()][:: max(1, len(work) // 2000)]:
        engine.tickets.update(
            ticket_id, status=moves.choice(["open", "in_progress", "waiting_on_customer"])
        )
    engine._core.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    core = engine._core
    results: dict[str, list[float]] = {}
    raw = sqlite3.connect(path, isolation_level=None)

    def raw_list(params: dict[str, Any]) -> None:
        from ayra_tickets.storage.tickets import _SELECT, _order, _where

        query = validate_list(params)
        where, args = _where(query, core.now())
        raw.execute(f"SELECT COUNT(*) FROM tickets t{where}", args).fetchone()
        raw.execute(f"{_SELECT}{where} ORDER BY {_order(query)} LIMIT 25 OFFSET 0", args).fetchall()

    for params in LIST_MIX:
        label = ", ".join(f"{k}={v}" for k, v in params.items()) or "no filter"
        results[f"list+total [{label}]"] = timed(
            (lambda p=params: engine.tickets.list(**p)) for _ in range(40)
        )
        results[f"list+total [{label}] (raw sqlite3)"] = timed(
            (lambda p=params: raw_list(p)) for _ in range(40)
        )
    deep = len(work) // 25 - 2
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
    for words in ("invoice", "printer ink", "refund login password"):
        results[f"search first page [{words}]"] = timed(
            (lambda w=words: engine.tickets.list(search=w)) for _ in range(20)
        )
    ids = [t.id for t in engine.tickets.list(per_page=100).data]
    results["get (Python API)"] = timed((lambda i=i: engine.tickets.get(i)) for i in ids)
    results["get (raw sqlite3)"] = timed(
        (lambda i=i: raw.execute("SELECT * FROM tickets WHERE id = ?", (i,)).fetchone())
        for i in ids
    )
    raw.close()
    engine.close()
    return results


EXPORT_PROBE = """
import resource, sys
from ayra_tickets import Engine
with Engine.open(sys.argv[1]) as engine:
    count = sum(1 for _ in engine.tickets.export())
print(count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_export(folder: Path) -> dict[str, float]:
    """Export the read database in a child process; its peak RSS is the figure."""
    import subprocess
    import sys

    path = folder / "read0.db"
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", EXPORT_PROBE, str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    elapsed = time.perf_counter() - began
    count, peak_kib = int(out[0]), int(out[1])
    size = path.stat().st_size + sum(
        p.stat().st_size for p in folder.glob("read0.db-*") if p.exists()
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
        for run in range(args.repeat):
            print(f"run {run + 1} of {args.repeat} ...", flush=True)
            for name, samples in {
                **bench_creates(Path(folder), singles, run),
                **bench_bulk(Path(folder), work, run),
                **bench_reads(Path(folder), work, run),
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
    for ours, raw in (
        ("create (Python API)", "create (raw sqlite3)"),
        ("create (engine.request)", "create (raw sqlite3)"),
        ("bulk import (import_many)", "bulk import (raw executemany)"),
        ("get (Python API)", "get (raw sqlite3)"),
    ):
        ratios[ours] = table[ours]["ops_per_s"] / table[raw]["ops_per_s"]
        print(f"{ours} / {raw}: {ratios[ours]:.2f}x of raw throughput")
    for name in [
        n for n in table if n.startswith("list+total") and not n.endswith("(raw sqlite3)")
    ]:
        raw_p99 = table[f"{name} (raw sqlite3)"]["p99_us"]
        ratios[name] = table[name]["p99_us"] / raw_p99
        print(f"{name}: p99 {ratios[name]:.2f}x of raw")
    for key, value in extra.items():
        print(f"{key}: {value:,.1f}")
    if args.json:
        args.json.write_text(json.dumps({"results": table, "ratios": ratios, **extra}, indent=2))


if __name__ == "__main__":
    main()
