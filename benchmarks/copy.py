"""``python -m benchmarks.copy [--tickets N] [--postgres URL] [--json FILE]``: a file of N
tickets copied to PostgreSQL and back with ``ayra-tickets copy``'s code, timed.

The file is the benchmarks' realistic dataset (:func:`benchmarks.workload.bodies`:
skewed assignees and contacts, Zipfian text, a mix of statuses and priorities, tags,
due dates), imported, then moved on so that histories vary: one ticket in five updated
(a status move, a priority, a note), one in ten closed, some of those reopened, with
keys, agents, an SLA policy and idempotency keys beside them. Then:

1. the file is copied to a new schema of the PostgreSQL database (``--postgres``, else
   ``AYRA_TICKETS_TEST_POSTGRES``), and checked;
2. that schema is copied to a new file, and checked;
3. the first file's digest is compared with the last's.

Each leg's time is split into the write (to the copy's commit) and the check (counting
and hashing both sides). The schema is dropped at the end. Exits 1 on any difference:
the figures are measurements, the identity a requirement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain.sla import SlaPolicy
from ayra_tickets.engine import redacted
from ayra_tickets.transfer import CopySummary, copy_database
from benchmarks.workload import START, bodies

ENV = "AYRA_TICKETS_TEST_POSTGRES"


def build(path: Path, count: int, clock: ManualClock) -> None:
    """The source file: ``count`` tickets imported, a share of them moved on."""
    with Engine.open(path, clock=clock) as engine:
        for agent in range(40):
            engine.agents.add(f"user_{agent}", f"Agent {agent}")
        engine.keys.create(scopes=["tickets:read", "tickets:write"], name="app")
        revoked = engine.keys.create(scopes=["tickets:read"])
        engine.keys.revoke(next(k.id for k in engine.keys.list() if revoked.startswith(k.prefix)))
        fast = {"response": timedelta(minutes=30), "resolution": timedelta(hours=2)}
        engine.sla.configure(SlaPolicy(name="faster", targets={1: fast}))
        engine.tickets.import_many(bodies(count))
        for number in range(1, count + 1, 5):
            clock.advance(seconds=7)
            ticket = f"TICK-{number}"
            engine.tickets.update(ticket, status="in_progress", priority=1 + number % 4,
                                  internal_note=f"Looked at {ticket}")  # fmt: skip
            if number % 10 == 1:
                engine.tickets.close(ticket, resolution_note="Done", customer_satisfaction=8)
            if number % 30 == 1:
                engine.tickets.update(ticket, status="reopened")
        for key in range(20):
            engine.tickets.create(subject=f"Retry {key}", description="Sent with a key",
                                  idempotency_key=f"retry-{key}")  # fmt: skip


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new, empty schema of the database at ``url``, by its URL; dropped after."""
    name = f"copy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


def leg(source: str, target: str, clock: ManualClock) -> tuple[CopySummary, dict[str, float]]:
    """One copy, timed: the write, then the check."""
    marks = {"began": time.perf_counter()}

    def written(_: Any) -> None:
        marks["written"] = time.perf_counter()

    summary = copy_database(source, target, clock=clock, before_check=written)
    ended = time.perf_counter()
    return summary, {
        "write_s": round(marks["written"] - marks["began"], 1),
        "check_s": round(ended - marks["written"], 1),
        "total_s": round(ended - marks["began"], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get(ENV), help=f"default: ${ENV}")
    parser.add_argument("--json", type=Path, help="Write the figures here as well.")
    args = parser.parse_args()
    if not args.postgres:
        parser.error(f"give --postgres URL or set {ENV}")
    clock = ManualClock(START)
    figures: dict[str, Any] = {"tickets": args.tickets}
    with tempfile.TemporaryDirectory(prefix="ayra-copy-") as folder:
        first, last = Path(folder) / "source.db", Path(folder) / "back.db"
        began = time.perf_counter()
        build(first, args.tickets, clock)
        figures["build_s"] = round(time.perf_counter() - began, 1)
        figures["file_bytes"] = first.stat().st_size
        with fresh_schema(args.postgres) as schema:
            there, figures["file_to_postgres"] = leg(str(first), schema, clock)
            print_leg("file -> PostgreSQL", there, figures["file_to_postgres"])
            back, figures["postgres_to_file"] = leg(schema, str(last), clock)
            print_leg("PostgreSQL -> file", back, figures["postgres_to_file"])
    figures["counts"] = there.source.counts
    figures["identical"] = same = (
        there.identical and back.identical and there.source.digest == back.target.digest
    )
    figures["digest"] = there.source.digest
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(
        f"built {args.tickets:,} tickets in {figures['build_s']} s ({figures['file_bytes']:,} bytes)"
    )
    print("counts: " + ", ".join(f"{kind} {n:,}" for kind, n in there.source.counts.items()))
    print(f"digest of the first file {there.source.digest}")
    print(f"digest of the last file  {back.target.digest}")
    print(f"peak RSS {figures['peak_rss_mb']} MB")
    print("identical" if same else "DIFFERENT")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if same else 1


def print_leg(name: str, summary: CopySummary, times: dict[str, float]) -> None:
    verdict = "identical" if summary.identical else f"different: {summary.difference}"
    print(
        f"{name}: {times['total_s']} s (write {times['write_s']} s, check {times['check_s']} s)"
        f" to {redacted(summary.target.location)}: {verdict}"
    )


if __name__ == "__main__":
    sys.exit(main())
