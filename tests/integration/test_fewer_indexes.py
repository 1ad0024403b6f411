"""Schema 18 (fewer indexes a create writes): a file of schema 17 upgrades to the very
indexes and tag table a new file gets, keeps its tags and search entries, and an import
that was stopped with the old indexes left to rebuild gets the new ones."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.storage.sqlite import schema
from tests.conftest import START

SCHEMA_17 = Path(__file__).parents[1] / "fixtures" / "schema-17.db"


def shape(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """The tickets', tags' and search index's definitions, as the file holds them."""
    return [
        (kind, name, " ".join(sql.split()))
        for kind, name, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            " AND (tbl_name IN ('tickets', 'ticket_tags') OR name = 'tickets_fts')"
            " ORDER BY type, name"
        )
    ]


def upgraded(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    shutil.copy(SCHEMA_17, path)
    return path


def test_an_upgraded_file_has_the_indexes_of_a_new_one(tmp_path: Path) -> None:
    path = upgraded(tmp_path)
    old = sqlite3.connect(path)
    tags_before = old.execute("SELECT tag, ticket_number, status FROM ticket_tags").fetchall()
    old.close()
    with Engine.open(path, clock=ManualClock(START)) as engine:
        conn = engine.db.conn
        with Engine.open(tmp_path / "new.db", clock=ManualClock(START)) as new:
            assert shape(conn) == shape(new.db.conn)
        names = {name for _, name, _ in shape(conn)}
        assert "tickets_by_priority_number" not in names
        assert "tickets_by_status_due_order" not in names
        assert "ticket_tags_by_ticket" not in names
        tags = "SELECT tag, ticket_number, status FROM ticket_tags"
        assert sorted(conn.execute(tags).fetchall()) == sorted(tags_before)
        # kept in ticket order: the table's own key is (ticket, tag)
        keyed = conn.execute("SELECT name, pk FROM pragma_table_info('ticket_tags') WHERE pk")
        assert sorted(keyed.fetchall(), key=lambda row: row[1]) == [
            ("ticket_number", 1),
            ("tag", 2),
        ]
        assert engine.tickets.list(search="fuser printer").meta["total"] == 0
        assert engine.tickets.list(search="printer", status="closed").meta["total"] == 1
        assert engine.tickets.list(tags="urgent", status="closed").meta["total"] == 1


def test_an_import_stopped_before_its_indexes_were_rebuilt_gets_the_new_ones(
    tmp_path: Path,
) -> None:
    path = upgraded(tmp_path)
    old = sqlite3.connect(path)
    left = old.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets'"
        " AND sql IS NOT NULL ORDER BY name"
    ).fetchall()
    old.execute(
        "INSERT INTO settings (key, value) VALUES ('deferred_indexes', ?)", (json.dumps(left),)
    )
    for name, _ in left:
        old.execute(f'DROP INDEX "{name}"')
    old.commit()
    old.close()
    with Engine.open(path, clock=ManualClock(START)) as engine:
        conn = engine.db.conn
        pending = "SELECT COUNT(*) FROM settings WHERE key = 'deferred_indexes'"
        assert conn.execute(pending).fetchone() == (0,)
        with Engine.open(tmp_path / "new.db", clock=ManualClock(START)) as new:
            assert shape(conn) == shape(new.db.conn)
        assert engine.tickets.list(priority=1).meta["total"] == 1


def test_an_upgrade_that_fails_halfway_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = upgraded(tmp_path)
    before = sqlite3.connect(path)
    shape_before = shape(before)
    before.close()

    def fail(db: Any) -> None:
        raise RuntimeError("stopped")

    monkeypatch.setattr(schema, "_forget_deferred", fail)
    with pytest.raises(RuntimeError, match="stopped"):
        Engine.open(path, clock=ManualClock(START))
    after = sqlite3.connect(path)
    assert shape(after) == shape_before
    assert after.execute("SELECT MAX(name) FROM _sqlite_migrations").fetchone() == (
        "0017_webhooks",
    )
    after.close()
    monkeypatch.undo()
    with Engine.open(path, clock=ManualClock(START)) as engine:
        assert engine.tickets.list(tags="urgent").meta["total"] == 1
