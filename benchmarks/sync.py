"""``python -m benchmarks.sync [--tickets N] [--edits E] [--json FILE]``: offline edits
pushed to a remote over loopback.

A local file engine, syncing with a remote (``LocalServer`` over a file of its own, on a
loopback port), makes ``N`` tickets and ``E`` edits of each (priority, tags, a note, in
turn) while the remote is not served: ``N * (E + 1)`` commands queued. The same writes
are timed on an engine with sync not configured, interleaved in blocks, for what the
outbox costs a write. Then the remote is served and one ``engine.sync.run()`` pushes
everything: commands per second and wall time, and a check that the remote holds each
ticket once, at the version its edits make.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ayra_tickets import Engine, ManualClock
from ayra_tickets.server import LocalServer
from benchmarks.workload import START

KEY_ENV = "AYRA_BENCHMARK_REMOTE_KEY"
BLOCK = 50
"""Tickets a side writes in one turn."""


def edit(engine: Engine, ticket_id: str, step: int) -> None:
    """The ``step``-th edit of a ticket: a priority, tags, or a note, in turn."""
    if step % 3 == 0:
        engine.tickets.update(ticket_id, priority=1 + step % 4)
    elif step % 3 == 1:
        engine.tickets.update(ticket_id, tags=[f"t{step}"])
    else:
        engine.tickets.update(ticket_id, internal_note=f"note {step}")


def write(engine: Engine, first: int, count: int, edits: int) -> float:
    """Make ``count`` tickets (numbered from ``first``) with ``edits`` edits each; the
    seconds it took."""
    began = time.perf_counter()
    for n in range(first, first + count):
        ticket = engine.tickets.create(subject=f"Offline {n}", description="Made offline")
        for step in range(edits):
            edit(engine, ticket.id, step)
    return time.perf_counter() - began


def run(tickets: int, edits: int, workers: int) -> dict[str, Any]:
    logging.getLogger("waitress").setLevel(logging.ERROR)  # no word a request
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        remote = Engine.open(where / "remote.db", clock=ManualClock(START))
        local = Engine.open(where / "local.db", clock=ManualClock(START))
        plain = Engine.open(where / "plain.db", clock=ManualClock(START))
        served = LocalServer(remote, port=0, threads=workers)
        os.environ[KEY_ENV] = remote.keys.create()
        local.sync.configure(remote=served.url, key_env=KEY_ENV)
        local.sync.workers = workers
        timed = {"sync configured": 0.0, "not configured": 0.0}
        for first in range(0, tickets, BLOCK):
            count = min(BLOCK, tickets - first)
            timed["sync configured"] += write(local, first, count, edits)
            timed["not configured"] += write(plain, first, count, edits)
        writes = tickets * (edits + 1)
        queued = local.sync.status().pending
        with served:
            began = time.perf_counter()
            report = local.sync.run()
            wall = time.perf_counter() - began
        made = remote.tickets.list(per_page=100)
        versions = {t["version"] for t in remote.tickets.export()}
        figures = {
            "tickets": tickets,
            "commands": queued,
            "writes_per_s": {side: writes / seconds for side, seconds in timed.items()},
            "outbox_cost": timed["sync configured"] / timed["not configured"],
            "push_wall_s": wall,
            "push_commands_per_s": report.acknowledged / wall,
            "report": report.to_dict(),
            "remote_tickets": made.meta["total"],
            "remote_versions": sorted(versions),
            "workers": workers,
        }
        for engine in (remote, local, plain):
            engine.close()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000)
    parser.add_argument("--edits", type=int, default=9)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = run(args.tickets, args.edits, args.workers)
    rates = figures["writes_per_s"]
    print(f"{figures['commands']:,} commands queued by {figures['tickets']:,} tickets")
    print(
        f"writes: {rates['sync configured']:,.0f}/s with sync configured,"
        f" {rates['not configured']:,.0f}/s without ({figures['outbox_cost']:.2f}x the time)"
    )
    print(
        f"push: {figures['report']['acknowledged']:,} acknowledged in"
        f" {figures['push_wall_s']:.1f} s ({figures['push_commands_per_s']:,.0f} commands/s,"
        f" {figures['workers']} workers); pending after: {figures['report']['pending']}"
    )
    print(f"remote: {figures['remote_tickets']:,} tickets, versions {figures['remote_versions']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
