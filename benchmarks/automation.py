"""``python -m benchmarks.automation [--tickets N] [--repeat R] [--json FILE]``: what
routing, escalation and the webhook outbox cost a single create.

Each run creates the same tickets (none naming an assignee) one at a time on six sides,
in interleaved blocks (A, B, C, ..., A, B, C, ...), so that the machine's noise falls on
every side alike:

- the engine with nothing configured: what a create cost before automation;
- the engine routing every ticket (two rules, a billing group on ``round_robin`` and an
  on-call group on ``least_loaded``, 20 agents);
- the same, plus a webhook subscription to every event (an outbox row a create);
- the same, plus an escalation policy for every priority (a deadline timer a create);
- the ORM peer (:mod:`benchmarks.orm_peer`) and the minimal raw store
  (:mod:`benchmarks.minimal_raw`) creating the same tickets, for scale;
- with ``--before REV``, the engine as it was at commit ``REV`` of this repository (its
  package taken from git and imported beside today's): what a create cost before
  automation was written (``f4bbbe0`` is the last commit without it).

Webhooks are not sent during the timed creates (the outbox is written; a sender drains
it later, as ``serve``'s timer or ``run_due`` would): a create's cost is what is measured.
Then the pages each engine side writes to SQLite's log per create, and how fast
``run_due`` drains the outbox to a receiver on loopback.
"""

from __future__ import annotations

import argparse
import http.server
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from ayra_tickets import (
    AddTag,
    Engine,
    EscalationLevel,
    ManualClock,
    Notify,
    RaisePriority,
    RoutingRule,
)
from benchmarks.__main__ import empty_log, wal_frames
from benchmarks.minimal_raw import MinimalRaw
from benchmarks.orm_peer import OrmPeer
from benchmarks.workload import START, bodies, interleaved, summary

BLOCK = 50
"""Creates a side makes in one turn."""
PROBE = 20
"""Creates per count of pages written (fewer than a checkpoint's 1,000 pages)."""
SIDES = ("nothing configured", "routing", "routing + outbox", "routing + outbox + escalation")


def configure(engine: Engine, level: int, url: str) -> None:
    """Give ``engine`` the first ``level`` of: routing, a webhook subscription, an
    escalation policy."""
    if level >= 1:
        for n in range(20):
            group = "billing" if n < 10 else "oncall"
            engine.agents.add(f"agent_{n:02d}", f"Agent {n}", groups=[group], capacity=None)
        engine.routing.configure(
            [
                RoutingRule("billing", match={"category": "billing"}, group="billing",
                            strategy="round_robin"),
                RoutingRule("everything else", match={}, group="oncall",
                            strategy="least_loaded"),
            ]
        )  # fmt: skip
    if level >= 2:
        engine.webhooks.subscribe(url, events=["*"], secret="whsec_benchmark_secret_0123")
    if level >= 3:
        levels = [
            EscalationLevel(on="response_due", after=-timedelta(minutes=15),
                            actions=[Notify("ticket.at_risk")]),
            EscalationLevel(on="resolution_due", after=0.75, actions=[AddTag("late")]),
            EscalationLevel(on="resolution_due", after=timedelta(0), actions=[RaisePriority()]),
        ]  # fmt: skip
        engine.escalations.configure({priority: levels for priority in (1, 2, 3, 4)})


def package_at(revision: str, folder: Path) -> ModuleType:
    """The ``ayra_tickets`` package as it was at ``revision`` of this repository,
    imported as ``ayra_tickets_REVISION`` (its imports are relative)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "ayra_tickets"],
        capture_output=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    ).stdout
    where = folder / f"at-{revision}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(where, **safe)  # type: ignore[arg-type]
    name = f"ayra_tickets_{revision}"
    spec = importlib.util.spec_from_file_location(
        name, where / "ayra_tickets" / "__init__.py",
        submodule_search_locations=[str(where / "ayra_tickets")],
    )  # fmt: skip
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def engine_at(folder: Path, name: str, level: int, url: str) -> Engine:
    engine = Engine.open(folder / f"{name}.db", clock=ManualClock(START))
    configure(engine, level, url)
    return engine


@contextmanager
def receiver() -> Iterator[tuple[str, list[int]]]:
    """A webhook receiver on loopback that answers 200 to every POST, counting them."""
    received: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(1)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    finally:
        server.shutdown()
        server.server_close()


def run_once(
    folder: Path, work: list[dict[str, Any]], run: int, url: str, before: ModuleType | None
) -> dict[str, list[float]]:
    """One run: every side creates ``work``, interleaved."""
    engines = [engine_at(folder, f"level{level}-{run}", level, url) for level in range(4)]
    if before is not None:
        engines.append(before.Engine.open(folder / f"before{run}.db", clock=ManualClock(START)))
    peer = OrmPeer(folder / f"peer{run}.db", clock=lambda: START)
    least = MinimalRaw(folder / f"least{run}.db", START)
    sides: dict[str, list[Callable[[], Any]]] = {
        f"create ({name})": [
            (lambda engine=engine, body=body: engine.tickets.create(**body)) for body in work
        ]
        for name, engine in zip(sides_of(before), engines, strict=True)
    }
    sides["create (ORM peer)"] = [(lambda body=body: peer.create(body)) for body in work]
    sides["create (minimal raw)"] = [(lambda body=body: least.create(body)) for body in work]
    try:
        return interleaved(sides, BLOCK)
    finally:
        for engine in engines:
            engine.close()
        peer.dispose()
        least.close_connection()


def sides_of(before: ModuleType | None) -> tuple[str, ...]:
    """The engine sides: the four levels, and the engine before automation if asked."""
    return SIDES if before is None else (*SIDES, before_side(before))


def before_side(before: ModuleType) -> str:
    return f"before automation, {before.__name__.rsplit('_', 1)[-1]}"


def pages(
    folder: Path, work: list[dict[str, Any]], url: str, before: ModuleType | None
) -> dict[str, float]:
    """Pages written to SQLite's log per create, by engine side."""
    found = {}
    for level, name in enumerate(sides_of(before)):
        path = folder / f"pages{level}.db"
        if level < len(SIDES):
            engine = engine_at(folder, f"pages{level}", level, url)
        else:
            engine = before.Engine.open(path, clock=ManualClock(START))  # type: ignore[union-attr]
        engine.tickets.create(**work[0])
        empty_log(path)
        for body in work[:PROBE]:
            engine.tickets.create(**body)
        found[name] = wal_frames(path) / PROBE
        engine.close()
    return found


def drain(folder: Path, work: list[dict[str, Any]], url: str, received: list[int]) -> float:
    """Deliveries a second that ``run_due`` sends from a full outbox to ``url``."""
    import time

    engine = engine_at(folder, "drain", 2, url)
    for body in work:
        engine.tickets.create(**body)
    began = time.perf_counter()
    before = len(received)
    while engine.run_due().get("webhooks", 0):
        pass
    taken = time.perf_counter() - began
    engine.close()
    return (len(received) - before) / taken


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.automation", description=__doc__)
    parser.add_argument("--tickets", type=int, default=2_000, help="creates per side and run")
    parser.add_argument("--repeat", type=int, default=3, help="runs")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument(
        "--before", metavar="REV", help="also the engine at this git commit (e.g. f4bbbe0)"
    )
    args = parser.parse_args()

    work = [{k: v for k, v in body.items() if k != "assigned_to"} for body in bodies(args.tickets)]
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as name, receiver() as (url, received):
        folder = Path(name)
        before = None if args.before is None else package_at(args.before, folder)
        for run in range(args.repeat):
            print(f"run {run + 1} of {args.repeat} ...", flush=True)
            for side, samples in run_once(folder, work, run, url, before).items():
                runs.setdefault(side, []).append(summary(samples))
        written = pages(folder, work, url, before)
        sent = drain(folder, work[: min(len(work), 1_000)], url, received)

    table = {}
    print(f"\n{args.tickets} creates a side, {args.repeat} runs (median run; min-max ops/s)")
    print(f"{'':48} {'ops/s':>8} {'p50 us':>8} {'p99 us':>8} {'min':>8} {'max':>8}")
    for side, found in runs.items():
        ordered = sorted(found, key=lambda s: s["ops_per_s"])
        median = ordered[len(ordered) // 2]
        table[side] = median | {"min_ops_per_s": ordered[0]["ops_per_s"],
                                "max_ops_per_s": ordered[-1]["ops_per_s"]}  # fmt: skip
        print(
            f"{side:48} {median['ops_per_s']:8.0f} {median['p50_us']:8.0f}"
            f" {median['p99_us']:8.0f} {ordered[0]['ops_per_s']:8.0f} {ordered[-1]['ops_per_s']:8.0f}"
        )
    base = table["create (nothing configured)"]["ops_per_s"]
    ratios = {side: figures["ops_per_s"] / base for side, figures in table.items()}
    print()
    for side, ratio in ratios.items():
        print(f"{side} / create (nothing configured): {ratio:.2f}x")
    if before is not None:
        then = table[f"create ({before_side(before)})"]["ops_per_s"]
        ratios_before = {side: figures["ops_per_s"] / then for side, figures in table.items()}
        for side, ratio in ratios_before.items():
            print(f"{side} / create ({before_side(before)}): {ratio:.2f}x")
    print("\npages written per create:", ", ".join(f"{k} {v:.1f}" for k, v in written.items()))
    print(f"outbox drained by run_due to a loopback receiver: {sent:.0f} deliveries/s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"tickets": args.tickets, "repeat": args.repeat, "table": table,
                 "ratios": ratios, "pages_per_create": written, "deliveries_per_s": sent}
                | ({} if before is None else {"ratios_to_before": ratios_before}),
                indent=2,
            )
        )  # fmt: skip


if __name__ == "__main__":
    main()
