"""``python -m benchmarks [--tickets N] [--repeat R]``: the engine beside raw sqlite3.

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
from ayra_tickets.domain.validation import validate_create
from ayra_tickets.storage.tickets import _INSERT, ticket_to_row

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
    """A raw connection on a database with the engine's schema, settings as the engine's."""
    fresh_engine(folder, name).close()
    conn = sqlite3.connect(folder / f"{name}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


Rows = tuple[tuple[Any, ...], list[str], list[tuple[str, str]]]


def raw_rows(work: list[dict[str, Any]]) -> list[Rows]:
    """The exact rows the engine would write (ticket, tags, events), prepared ahead: raw
    SQL gets a head start."""
    prepared = []
    for number, body in enumerate(work, start=1):
        ticket, events = build_ticket(
            f"ticket_{number:016d}", number, validate_create(body), START, DEFAULT_POLICY
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
        conn.executemany(
            "INSERT INTO ticket_tags (tag, ticket_number) VALUES (?, ?)",
            [(tag, row[0]) for tag in tags],
        )
        conn.executemany(
            "INSERT INTO ticket_events (ticket_id, version, type, data, created_at)"
            " VALUES (?, 1, ?, ?, ?)",
            [(row[1], kind, data, row[23]) for kind, data in events],
        )
        conn.execute("COMMIT")

    results["create (raw sqlite3)"] = timed((lambda r=r: raw_create(*r)) for r in rows)
    conn.close()
    return results


def bench_reads(folder: Path, work: list[dict[str, Any]], run: int) -> dict[str, list[float]]:
    engine = fresh_engine(folder, f"read{run}")
    made = [engine.tickets.create(**body) for body in work]
    engine._core.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    rng = random.Random(run)
    ids = [t.id for t in rng.sample(made, k=min(len(made), 500))]
    queries = [
        {"status": "new", "priority": 2},
        {"assigned_to": "user_1", "sort_by": "priority"},
        {"tags": "refund,login"},
        {"search": "invoice"},
        {"sla_breach": True},
    ] * 60
    results = {
        "get (Python API)": timed((lambda i=i: engine.tickets.get(i)) for i in ids),
        "list first page + total (Python API)": timed(
            (lambda q=q: engine.tickets.list(**q)) for q in queries
        ),
    }
    engine.close()
    conn = sqlite3.connect(folder / f"read{run}.db", isolation_level=None)
    select = "SELECT * FROM tickets WHERE id = ?"
    results["get (raw sqlite3)"] = timed(
        (lambda i=i: conn.execute(select, (i,)).fetchone()) for i in ids
    )
    conn.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--tickets", type=int, default=2000, help="tickets per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()

    work = bodies(args.tickets)
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.repeat):
            for name, samples in {
                **bench_creates(Path(folder), work, run),
                **bench_reads(Path(folder), work, run),
            }.items():
                runs.setdefault(name, []).append(summary(samples))

    table = {}
    print(f"{args.tickets} tickets, {args.repeat} runs, SQLite {sqlite3.sqlite_version}")
    print(
        f"{'measurement':40} {'ops/s':>9} {'min':>9} {'max':>9} {'p50 us':>8} {'p95 us':>8} {'p99 us':>8}"
    )
    for name, results in runs.items():
        median = sorted(results, key=lambda r: r["ops_per_s"])[len(results) // 2]
        rates = [r["ops_per_s"] for r in results]
        table[name] = {**median, "ops_per_s_min": min(rates), "ops_per_s_max": max(rates)}
        print(
            f"{name:40} {median['ops_per_s']:9.0f} {min(rates):9.0f} {max(rates):9.0f}"
            f" {median['p50_us']:8.0f} {median['p95_us']:8.0f} {median['p99_us']:8.0f}"
        )
    print()
    for ours, raw in (
        ("create (Python API)", "create (raw sqlite3)"),
        ("create (engine.request)", "create (raw sqlite3)"),
        ("get (Python API)", "get (raw sqlite3)"),
    ):
        ratio = table[ours]["ops_per_s"] / table[raw]["ops_per_s"]
        print(f"{ours} / {raw}: {ratio:.2f}x of raw throughput")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
