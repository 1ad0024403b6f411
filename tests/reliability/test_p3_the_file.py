"""Point 3: the file under the engine.

A file deleted, moved or replaced under an open engine takes no more writes (a write
there would be acknowledged and then lost); a file the engine refuses (not a database,
another application's, a newer release's) is left byte for byte as it was; a full disk
is a clear refusal that leaves the engine usable.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from ayra_tickets import (
    DatabaseGone,
    Engine,
    ManualClock,
    NewerSchema,
    NotATicketDatabase,
    StorageFull,
)
from ayra_tickets.cli import main
from ayra_tickets.server import LocalServer
from tests import openapi_check
from tests.conftest import START


def delete(path: Path) -> None:
    path.unlink()


def move(path: Path) -> None:
    path.rename(path.with_name("elsewhere.db"))


def replace(path: Path) -> None:
    other = path.with_name("other.db")
    with Engine.open(other) as engine:
        engine.tickets.create(subject="Another file", description="put in its place")
    os.replace(other, path)


@pytest.mark.parametrize("take_away", [delete, move, replace])
def test_p3_writes_to_a_file_taken_from_under_the_engine_are_refused(
    tmp_path: Path, take_away: Callable[[Path], None]
) -> None:
    path = tmp_path / "tickets.db"
    with Engine.open(path, clock=ManualClock(START)) as engine:
        key = engine.keys.create()
        ticket = engine.tickets.create(subject="Before", description="the file went")
        take_away(path)
        with pytest.raises(DatabaseGone, match=r"tickets\.db"):
            engine.tickets.create(subject="After", description="into nowhere")
        with pytest.raises(DatabaseGone):
            engine.tickets.update(ticket.id, status="open")
        answer = engine.request(
            "POST", "/v1/tickets", headers={"Authorization": f"Bearer {key}"},
            json={"subject": "After", "description": "over the wire"},
        )  # fmt: skip
        assert answer.status == 503
        assert answer.json["error"]["code"] == "database_unavailable"
        assert "Request-Id" in answer.headers
        openapi_check.check("POST", "/v1/tickets", answer)  # as the document says
        assert engine.tickets.get(ticket.id).status == "new"  # reads still answer
    if path.exists():  # replaced: the new file has only its own ticket
        with Engine.open(path) as engine:
            assert [t.subject for t in engine.tickets.list().data] == ["Another file"]


def test_p3_the_server_answers_a_taken_file_with_a_503_and_its_own_code(tmp_path: Path) -> None:
    import requests

    path = tmp_path / "served.db"
    with Engine.open(path, clock=ManualClock(START)) as engine:
        key = engine.keys.create()
        with LocalServer(engine, port=0) as server:
            path.unlink()
            answer = requests.post(
                f"{server.url}/v1/tickets", headers={"Authorization": f"Bearer {key}"},
                json={"subject": "Lost", "description": "if acknowledged"}, timeout=10,
            )  # fmt: skip
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "database_unavailable"


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in the folder by name, with a hash of its bytes."""
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.iterdir())}


def another_applications_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO recipes (name) VALUES ('bread')")
    conn.commit()
    conn.close()


def not_a_database(path: Path) -> None:
    path.write_bytes(b"subject,description\nPrinter,on fire\n" * 200)


def newer_release_in_rollback_mode(path: Path) -> None:
    with Engine.open(path) as engine:
        engine.tickets.create(subject="Written tomorrow", description="by a newer release")
        engine.db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('ayra_tickets', '0099_from_a_later_release', '2030-01-01')"
        )
        engine.db.conn.commit()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")  # as a copy made by another tool may be
    conn.close()


@pytest.mark.parametrize(
    ("make", "refusal", "words"),
    [
        (another_applications_database, NotATicketDatabase, "another application"),
        (not_a_database, NotATicketDatabase, "not a SQLite database"),
        (newer_release_in_rollback_mode, NewerSchema, "newer release"),
    ],
)
def test_p3_a_refused_file_is_left_byte_for_byte_as_it_was(
    tmp_path: Path, make: Callable[[Path], None], refusal: type[Exception], words: str
) -> None:
    path = tmp_path / "someone.db"
    make(path)
    before = fingerprint(tmp_path)
    with pytest.raises(refusal, match=words):
        Engine.open(path)
    assert fingerprint(tmp_path) == before  # no journal-mode switch, no table, no -wal
    run = CliRunner().invoke(main, ["--db", str(path), "list"])
    assert run.exit_code == 1
    assert words in run.output
    assert "Traceback" not in run.output
    assert fingerprint(tmp_path) == before


def test_p3_an_empty_file_or_a_sqlite_file_without_tables_is_set_up(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    bare = tmp_path / "bare.db"
    sqlite3.connect(bare).close()
    for path in (empty, bare):
        with Engine.open(path) as engine:
            assert engine.tickets.create(subject="First", description="ticket").number == 1


def test_p3_a_full_disk_refuses_the_call_whole_and_the_engine_goes_on(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "full.db", clock=ManualClock(START)) as engine:
        key = engine.keys.create()
        engine.tickets.create(subject="Fits", description="before the disk fills")
        (pages,) = engine.db.execute("PRAGMA page_count").fetchone()
        engine.db.execute(f"PRAGMA max_page_count = {pages}")  # no room for one more page
        big = "x" * 9_000  # several pages, within the description's bound
        before = engine.db.execute("SELECT COUNT(*) FROM ticket_events").fetchone()
        with pytest.raises(StorageFull, match="full"):
            engine.tickets.create(subject="Too big", description=big)
        answer = engine.request(
            "POST", "/v1/tickets", headers={"Authorization": f"Bearer {key}"},
            json={"subject": "Too big", "description": big},
        )  # fmt: skip
        assert answer.status == 507
        assert answer.json["error"]["code"] == "storage_full"
        openapi_check.check("POST", "/v1/tickets", answer)
        assert engine.db.execute("SELECT COUNT(*) FROM ticket_events").fetchone() == before
        assert not engine.db.conn.in_transaction
        engine.db.execute("PRAGMA max_page_count = 1073741823")
        assert engine.tickets.create(subject="Room again", description="after").number == 2
