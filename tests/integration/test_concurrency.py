"""Many writers on one file: several processes, and several threads sharing one engine,
create, update, close and reopen tickets at once. Afterwards every acknowledged write is
there, numbers are unique and gapless, every ticket's event log replays to its row, and
no caller ever saw "database is locked"."""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ayra_tickets import DatabaseBusy, Engine, ManualClock, TicketError
from ayra_tickets.domain.ticket import PERSISTENT_FIELDS, replay
from ayra_tickets.storage.sqlite.rows import states_from_log

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
WRITES = 500

Ack = tuple[str, str, int]
"""An acknowledged write: what it was, the ticket's id, the version it left."""


def mixed_writes(engine: Engine, seed: int, count: int) -> tuple[list[Ack], list[str]]:
    """``count`` writes of every kind, on tickets made by anyone; what was acknowledged,
    and every failure that was not the API refusing a move (those must never happen)."""
    rng = random.Random(seed)
    acks: list[Ack] = []
    failures: list[str] = []
    for step in range(count):
        last = engine.tickets.count()
        try:
            if last == 0 or rng.random() < 0.3:
                made = engine.tickets.create(
                    subject=f"Writer {seed} step {step}", description="Concurrent",
                    priority=rng.randint(1, 4), tags=[f"w{seed}"],
                )  # fmt: skip
                acks.append(("create", made.id, made.version))
                continue
            number = rng.randint(1, last)
            target = engine.tickets.list(sort_order="asc", per_page=1, page=number).data[0]
            move = rng.choice(["note", "priority", "status", "close", "reopen"])
            if move == "note":
                after = engine.tickets.update(target.id, internal_note=f"{seed}/{step}")
            elif move == "priority":
                after = engine.tickets.update(target.id, priority=rng.randint(1, 4))
            elif move == "status":
                status = rng.choice(["open", "in_progress", "waiting_on_customer", "resolved"])
                after = engine.tickets.update(target.id, status=status)
            elif move == "close":
                after = engine.tickets.close(target.id, customer_satisfaction=rng.randint(1, 10))
            else:
                after = engine.tickets.update(target.id, status="reopened")
            acks.append((move, after.id, after.version))
        except TicketError as error:
            if error.status != 409:  # a move another writer made impossible is fine
                failures.append(f"{type(error).__name__}: {error}")
        except (sqlite3.Error, DatabaseBusy) as error:
            failures.append(f"{type(error).__name__}: {error}")
    return acks, failures


def writer_process(path: str, seed: int, count: int, results: Any) -> None:
    with Engine.open(path, clock=ManualClock(START)) as engine:
        results.put(mixed_writes(engine, seed, count))


def check_the_file(path: str, acks: list[Ack]) -> None:
    with Engine.open(path, clock=ManualClock(START)) as engine:
        conn = engine.db.conn
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        numbers = [n for (n,) in conn.execute("SELECT number FROM tickets ORDER BY number")]
        assert numbers == list(range(1, len(numbers) + 1))  # unique and gapless
        states = conn.execute("SELECT * FROM ticket_states ORDER BY ticket_number, version")
        assert states.fetchall() == states_from_log(conn)  # the figures' states: the log's
        created = [ticket_id for kind, ticket_id, _ in acks if kind == "create"]
        assert len(created) == len(set(created)) == len(numbers)
        for ticket_id in created:
            ticket = engine.tickets.get(ticket_id)
            events = engine.tickets.events(ticket_id)
            shown = ticket.to_dict()
            persistent = {name: shown[name] for name in PERSISTENT_FIELDS}
            persistent.update(version=shown["version"], updated_at=shown["updated_at"])
            assert replay(events) == persistent
        # Every acknowledged change is in its ticket's history, at the version it left.
        versions = {
            (engine.tickets.get(ticket_id).id, event.version)
            for ticket_id in created
            for event in engine.tickets.events(ticket_id)
        }
        missing = [ack for ack in acks if (ack[1], ack[2]) not in versions]
        assert missing == []


def test_four_processes_writing_one_file_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    Engine.open(path).close()  # the schema, so that the writers start together
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    writers = [
        context.Process(target=writer_process, args=(path, seed, WRITES, results))
        for seed in range(4)
    ]
    for writer in writers:
        writer.start()
    outcomes = [results.get(timeout=300) for _ in writers]
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    failures = [failure for _, failed in outcomes for failure in failed]
    assert failures == []  # no "database is locked", no other surprise
    acks = [ack for done, _ in outcomes for ack in done]
    assert len(acks) > 4 * WRITES * 0.5
    check_the_file(path, acks)


def test_eight_threads_sharing_one_engine_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    outcomes: list[tuple[list[Ack], list[str]]] = []
    with Engine.open(path, clock=ManualClock(START)) as engine:
        start = threading.Barrier(8)

        def work(seed: int) -> None:
            start.wait()
            outcomes.append(mixed_writes(engine, seed, WRITES // 4))

        run_all([lambda seed=seed: work(seed) for seed in range(8)])
    failures = [failure for _, failed in outcomes for failure in failed]
    assert failures == []
    check_the_file(path, [ack for done, _ in outcomes for ack in done])


def run_all(jobs: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_a_write_lock_held_past_the_bound_is_a_clear_error_that_changes_nothing(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from ayra_tickets.storage.sqlite import locking

    path = tmp_path / "held.db"
    with Engine.open(path, clock=ManualClock(START)) as engine:
        key = engine.keys.create()
        engine.tickets.create(subject="Before", description="the lock")
        monkeypatch.setattr(locking, "WRITE_WAIT", 0.3)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process, mid-write, for too long
        try:
            with pytest.raises(DatabaseBusy, match="write lock"):
                engine.tickets.create(subject="Blocked", description="by the lock")
            answer = engine.request(
                "POST", "/v1/tickets", headers={"Authorization": f"Bearer {key}"},
                json={"subject": "Blocked", "description": "over the wire"},
            )  # fmt: skip
            assert answer.status == 503
            assert answer.json["error"]["code"] == "database_busy"
            assert answer.headers["Retry-After"] == "1"
            assert engine.tickets.count() == 1  # reads go on meanwhile
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert engine.tickets.create(subject="After", description="the lock").number == 2
