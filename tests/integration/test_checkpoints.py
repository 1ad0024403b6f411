"""Checkpoints off the request path: the engine's commits leave the copying of the log
into the file to a thread of the storage (``storage/sqlite/checkpoint.py``)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

from ayra_tickets import Engine, ManualClock
from ayra_tickets.storage.sqlite import checkpoint
from tests.conftest import START


def open_engine(path: Path) -> Engine:
    return Engine.open(path, clock=ManualClock(START))


def create(engine: Engine, count: int) -> None:
    for n in range(count):
        engine.tickets.create(subject=f"Ticket {n}", description="Something broke " * 20)


def checkpoints(engine: Engine) -> checkpoint.Checkpointer:
    found = engine._uow.storage._checkpoints  # type: ignore[attr-defined]
    assert found is not None
    return found


def threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("checkp")]


def test_the_thread_copies_the_log_into_the_file_and_the_commits_do_not(tmp_path: Path) -> None:
    path = tmp_path / "tickets.db"
    with open_engine(path) as engine:
        conn = engine._uow.storage.db.conn  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (checkpoint.BACKSTOP,)
        create(engine, checkpoint.EVERY - 1)
        checkpoints(engine).settle()
        before = path.stat().st_size  # the pages are in the log only
        assert checkpoints(engine).rounds == 0
        create(engine, 1)
        checkpoints(engine).settle()
        assert checkpoints(engine).rounds == 1
        assert path.stat().st_size > before + 20 * 4096  # copied into the file
        create(engine, checkpoint.EVERY)
        checkpoints(engine).settle()
        assert checkpoints(engine).rounds == 2


def test_closing_the_engine_stops_the_thread_and_the_file_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "tickets.db"
    before = threads()
    with open_engine(path) as engine:
        create(engine, checkpoint.EVERY * 3)
        assert len(threads()) == len(before) + 1
    assert threads() == before
    with open_engine(path) as again:
        assert again.tickets.list(per_page=1).meta["total"] == checkpoint.EVERY * 3
        assert again.check().clean


def test_an_in_memory_database_has_no_thread() -> None:
    before = threads()
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        create(engine, checkpoint.EVERY * 2)
        assert engine._uow.storage._checkpoints is None  # type: ignore[attr-defined]
        assert threads() == before


def test_a_file_put_in_the_engines_place_is_not_checkpointed_into(tmp_path: Path) -> None:
    path = tmp_path / "tickets.db"
    other = tmp_path / "other.db"
    with open_engine(other) as elsewhere:
        create(elsewhere, 3)
    with open_engine(path) as engine:
        create(engine, checkpoint.EVERY)  # the thread is running
        checkpoints(engine).settle()
        create(engine, checkpoint.EVERY - 1)  # in the log only
        shutil.move(path, tmp_path / "moved.db")
        shutil.copy(other, path)
        kept = path.read_bytes()
        for _ in range(checkpoint.EVERY):  # as if the commits had raced the move
            checkpoints(engine).committed()
        checkpoints(engine).settle()
        assert path.read_bytes() == kept
        assert checkpoints(engine).rounds == 1  # the thread saw the file was not its own
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (3,)
