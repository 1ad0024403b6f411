"""The file itself: durability settings, online backups under load, refusing a file
from a newer release, and the key commands that keep secrets out of sight."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from ayra_tickets import Engine, ManualClock, NewerSchema
from ayra_tickets.cli import main
from ayra_tickets.domain.ticket import PERSISTENT_FIELDS, replay
from tests.conftest import START


@pytest.mark.parametrize(("durability", "level"), [("normal", 1), ("full", 2)])
def test_durability_chooses_sqlites_synchronous_setting(
    tmp_path: Path, durability: str, level: int
) -> None:
    with Engine.open(tmp_path / "t.db", durability=durability) as engine:
        assert engine.db.execute("PRAGMA synchronous").fetchone() == (level,)
        assert engine.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with pytest.raises(ValueError, match="durability"):
        Engine.open(tmp_path / "u.db", durability="paranoid")


def test_a_backup_taken_while_writers_run_is_a_consistent_database(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    with Engine.open(path, clock=ManualClock(START)) as engine:
        engine.tickets.import_many(
            [{"subject": f"Old {i}", "description": "x"} for i in range(300)]
        )
        stop = threading.Event()
        errors: list[BaseException] = []

        def keep_writing() -> None:
            with Engine.open(path, clock=ManualClock(START)) as writer:
                step = 0
                while not stop.is_set():
                    try:
                        made = writer.tickets.create(subject=f"New {step}", description="y")
                        writer.tickets.update(made.id, status="open", internal_note="busy")
                    except BaseException as error:
                        errors.append(error)
                        return
                    step += 1

        writers = [threading.Thread(target=keep_writing) for _ in range(2)]
        for writer in writers:
            writer.start()
        copies = []
        for n in range(3):  # each taken while the writers are busy
            target = 300 + 50 * (n + 1)
            while engine.tickets.count() < target and not errors:
                stop.wait(0.01)
            copies.append(engine.backup(tmp_path / f"copy{n}.db"))
        stop.set()
        for writer in writers:
            writer.join()
        assert errors == []
        with pytest.raises(FileExistsError):
            engine.backup(copies[0])
    for copy in copies:
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
        with Engine.open(copy) as restored:
            numbers = [
                n for (n,) in restored.db.execute("SELECT number FROM tickets ORDER BY number")
            ]
            assert numbers == list(range(1, len(numbers) + 1))
            assert len(numbers) >= 350
            for ticket in restored.tickets.list(per_page=100).data:  # the newest, mid-flight
                shown = ticket.to_dict()
                persistent = {name: shown[name] for name in PERSISTENT_FIELDS}
                persistent.update(version=shown["version"], updated_at=shown["updated_at"])
                assert replay(restored.tickets.events(ticket.id)) == persistent


def test_a_file_from_a_newer_release_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with Engine.open(path) as engine:
        engine.tickets.create(subject="Written today", description="Read tomorrow")
        engine.db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('ayra_tickets', '0099_from_a_later_release', '2030-01-01')"
        )
        engine.db.conn.commit()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(NewerSchema, match="newer release"):
        Engine.open(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    run = CliRunner().invoke(main, ["--db", str(path), "list"])
    assert run.exit_code == 1
    assert "newer release" in run.output


def test_keys_are_listed_without_secrets_and_revoked_by_id_or_prefix(tmp_path: Path) -> None:
    db = str(tmp_path / "keys.db")
    runner = CliRunner()
    made = json.loads(runner.invoke(main, ["--db", db, "keys", "create", "--name", "ci"]).output)
    secret = made["key"]
    listed = runner.invoke(main, ["--db", db, "keys", "list"])
    assert listed.exit_code == 0
    assert secret not in listed.output
    (record,) = json.loads(listed.output)["data"]
    assert record["prefix"] == secret[:12]
    assert record["revoked_at"] is None
    with Engine.open(db) as engine:
        assert engine.keys.authenticate(secret) is not None
    revoked = runner.invoke(main, ["--db", db, "keys", "revoke", record["prefix"]])
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.output)["revoked_at"] is not None
    assert secret not in revoked.output
    with Engine.open(db) as engine:
        assert engine.keys.authenticate(secret) is None
        answer = engine.request("GET", "/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
        assert answer.json["error"]["code"] == "invalid_api_key"
    again = runner.invoke(main, ["--db", db, "keys", "revoke", record["id"]])
    assert again.exit_code == 1
    assert "no live key" in again.output
