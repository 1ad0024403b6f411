"""Files written by each earlier schema (tests/fixtures/schema-NN.db, each made by the
code of the last commit with that schema) open and upgrade in place, keeping every
ticket and event."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain.ticket import PERSISTENT_FIELDS, replay
from ayra_tickets.storage.sqlite.rows import states_from_log
from ayra_tickets.storage.sqlite.schema import SCHEMA_VERSION, known_migrations, migrations
from tests.conftest import START

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures").glob("schema-*.db"))


def test_there_is_a_fixture_for_every_earlier_schema() -> None:
    earlier = sorted(
        n for n in {int(name[:4]) for name in known_migrations()} if n < SCHEMA_VERSION
    )
    assert [f.stem for f in FIXTURES] == [f"schema-{n:02d}" for n in earlier]


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_an_older_file_upgrades_in_place_keeping_every_ticket_and_event(
    fixture: Path, tmp_path: Path
) -> None:
    path = tmp_path / fixture.name
    shutil.copy(fixture, path)
    raw = sqlite3.connect(path)
    tickets_before = raw.execute(
        "SELECT id, number, subject, status, version, created_at FROM tickets ORDER BY number"
    ).fetchall()
    events_before = raw.execute(
        "SELECT id, type, version, created_at FROM ticket_events ORDER BY id"
    ).fetchall()
    raw.close()
    assert len(tickets_before) == 3

    later = ManualClock(START + timedelta(days=3))
    with Engine.open(path, clock=later) as engine:
        assert len(migrations.applied(engine.db)) == len(known_migrations())
        conn = engine.db.conn
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        after = conn.execute(
            "SELECT id, number, subject, status, version, created_at FROM tickets ORDER BY number"
        ).fetchall()
        assert after == tickets_before
        events_after = conn.execute(
            "SELECT id, type, version, created_at FROM ticket_events ORDER BY id"
        ).fetchall()
        assert events_after == events_before
        for ticket_id, *_ in tickets_before:
            shown = engine.tickets.get(ticket_id).to_dict()
            persistent = {name: shown[name] for name in PERSISTENT_FIELDS}
            persistent.update(version=shown["version"], updated_at=shown["updated_at"])
            assert replay(engine.tickets.events(ticket_id)) == persistent
        # The figures read the tickets' states, which the upgrade derived from the log.
        states = conn.execute("SELECT * FROM ticket_states ORDER BY ticket_number, version")
        assert states.fetchall() == states_from_log(conn) != []
        assert engine.metrics.backlog(START + timedelta(hours=1)) == {
            "in_progress": {1: 1}, "new": {3: 1},
        }  # fmt: skip
        day = engine.metrics(START - timedelta(hours=9), START + timedelta(hours=15))
        assert [(b.created, b.resolved, b.closed) for b in day.volume] == [(3, 1, 1)]
        assert day.resolution.median == 150 * 60  # created 09:00, closed unresolved 11:30
        # The upgraded file answers every kind of query, and takes new writes.
        assert engine.tickets.list(tags="hardware").meta["total"] == 1
        assert engine.tickets.list(search="printer").meta["total"] == 1
        assert engine.tickets.list(search="refund", status="new").meta["total"] == 1
        assert engine.tickets.list(sla_breach=True).meta["total"] >= 1
        assert engine.agents.list() == {"user_jane": "Jane Smith"}
        made = engine.tickets.create(subject="After the upgrade", description="Still numbered")
        assert made.number == 4
        assert engine.tickets.list(search="upgrade").meta["total"] == 1
        engine.tickets.update(made.id, status="resolved", priority=1)
        states = conn.execute("SELECT * FROM ticket_states ORDER BY ticket_number, version")
        assert states.fetchall() == states_from_log(conn)
