"""Many writers on one file: several processes, and several threads sharing one engine,
create, update, close and reopen tickets at once. Afterwards every acknowledged write is
there, numbers are unique and gapless, every ticket's event log replays to its row, and
no caller ever saw "database is locked"."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from ayra_tickets import DatabaseBusy, Engine, ManualClock
from tests.conftest import START
from tests.writers import Ack, Outcome, check_database, mixed_writes, run_all, writer_process

WRITES = 500


def check_the_file(path: str, acks: list[Ack]) -> None:
    with Engine.open(path, clock=ManualClock(START)) as engine:
        assert engine.db.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        check_database(engine, acks)


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
    failures = [failure for outcome in outcomes for failure in outcome.failures]
    assert failures == []  # no "database is locked", no other surprise
    acks = [ack for outcome in outcomes for ack in outcome.acks]
    assert len(acks) > 4 * WRITES * 0.5
    check_the_file(path, acks)


def test_eight_threads_sharing_one_engine_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    outcomes: list[Outcome] = []
    with Engine.open(path, clock=ManualClock(START)) as engine:
        start = threading.Barrier(8)

        def work(seed: int) -> None:
            start.wait()
            outcomes.append(mixed_writes(engine, seed, WRITES // 4))

        run_all([lambda seed=seed: work(seed) for seed in range(8)])
    failures = [failure for outcome in outcomes for failure in outcome.failures]
    assert failures == []
    check_the_file(path, [ack for outcome in outcomes for ack in outcome.acks])


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
