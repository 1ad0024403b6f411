"""``copy``: a whole database from a file to PostgreSQL and back, kept exactly.

The source file holds every kind of record: tickets in every status (closed, reopened,
waiting), tags, custom fields and unicode text, events of every kind, keys (one revoked),
agents, a custom SLA policy on a business calendar made active, idempotency keys of
Python and of an API key. The PostgreSQL tests skip without a server (and fail under CI
without one, see ``tests/backends.py``).
"""

from __future__ import annotations

import functools
import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from ayra_tickets import BusinessCalendar, Engine, ManualClock, SlaPolicy, transfer
from ayra_tickets.cli import main
from ayra_tickets.engine import redacted
from ayra_tickets.storage.port import Storage
from ayra_tickets.transfer import CopyRefused, copy_database
from tests.backends import new_schema, schema_address, table_counts
from tests.conftest import START

TICKETS = 240
"""Enough for several of a copy's steps when a step is :data:`STEP` tickets."""
STEP = 50
BODY = {"subject": "Replayed", "description": "Sent twice"}
NOW = START + timedelta(days=6)
"""Where the clock stands when the source is built and read: within a day of the last
idempotent create, so that its replay answers."""


@pytest.fixture(autouse=True)
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copy in steps of 50 tickets, so that a few hundred take several."""
    monkeypatch.setattr(transfer, "BATCH", STEP)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The source file, and the secrets of its keys (built once for the module; no test
    writes to it)."""
    path = tmp_path_factory.mktemp("copy") / "source.db"
    clock = ManualClock(START)
    with Engine.open(path, clock=clock) as engine:
        secrets = fill(engine, clock)
        assert clock.now() <= NOW
    return {"path": str(path), **secrets}


def fill(engine: Engine, clock: ManualClock) -> dict[str, str]:
    """Every kind of record, a few hundred tickets of them."""
    engine.agents.add("user_ann", "Ann Ångström")
    engine.agents.add("user_bo", "Bo 李")
    live = engine.keys.create(scopes=["tickets:read", "tickets:write"], name="app")
    revoked = engine.keys.create(scopes=["tickets:read"], name="old")
    engine.keys.revoke(engine.keys.list()[-1].id)
    calendar = BusinessCalendar(
        timezone="Europe/Berlin",
        hours={day: "09:00-12:30,13:30-17:30" for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays=["2025-12-24", "RRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25"],
    )
    moves = (
        [],
        ["open"],
        ["in_progress"],
        ["open", "waiting_on_customer"],
        ["in_progress", "waiting_on_third_party"],
        ["in_progress", "resolved"],
        ["close"],
        ["in_progress", "close", "reopened"],
    )
    for i in range(TICKETS):
        if i == TICKETS // 2:
            engine.sla.configure(
                SlaPolicy(
                    name="berlin-business-hours",
                    calendar=calendar,
                    targets={
                        1: {"response": timedelta(minutes=30), "resolution": timedelta(hours=4)}
                    },
                )
            )
        ticket = engine.tickets.create(
            subject=f"Drucker {i} brennt — ça ne marche pas 🔥",
            description=f"Ticket {i}: the printer in room {i % 7} is on fire; 你好",
            priority=1 + i % 4,
            tags=[f"tag{i % 5}", "ünïcode"] if i % 3 else [],
            custom_fields={"zeta": i, "alpha": {"nested": [i, None, "x"]}} if i % 2 else {},
            assigned_to=("user_ann", "user_bo", None)[i % 3],
            due_date="2025-02-01T17:00:00Z" if i % 4 == 0 else None,
        )
        for move in moves[i % len(moves)]:
            clock.advance(minutes=7)
            if move == "close":
                engine.tickets.close(
                    ticket.id, resolution_note="Fixed", customer_satisfaction=1 + i % 10
                )
            else:
                engine.tickets.update(ticket.id, status=move, internal_note=f"to {move}")
        clock.advance(minutes=11)
    auth = {"Authorization": f"Bearer {live}"}
    assert clock.now() < NOW - timedelta(hours=1)
    clock.advance(NOW - timedelta(hours=1) - clock.now())
    first = engine.request(
        "POST", "/v1/tickets", headers={**auth, "Idempotency-Key": "retry-me"}, json=BODY
    )
    assert first.status == 201
    engine.tickets.create(subject="From Python", description="Once", idempotency_key="py-1")
    clock.advance(hours=1)
    return {"live": live, "revoked": revoked, "replayed": first.json["data"]["id"]}


def everything(engine: Engine) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every ticket's and event's wire JSON, as the API answers them."""
    return [
        (ticket, [event.to_dict() for event in engine.tickets.events(ticket["id"])])
        for ticket in engine.tickets.export()
    ]


READS = (
    "/v1/tickets?per_page=100&sort_by=priority&sort_order=asc",
    "/v1/tickets?status=closed,reopened&per_page=50",
    "/v1/tickets?tags=tag1&sort_by=due_date&sort_order=asc",
    "/v1/tickets?search=drucker%20brenn&per_page=30",
    "/v1/tickets?search=ungeziefer",
    "/v1/tickets?sla_breach=true&assigned_to=user_ann",
    "/v1/tickets/metrics?start=2025-01-15T00:00:00Z&end=2025-01-21T00:00:00Z&interval=day",
)


def answers(engine: Engine, secret: str) -> list[Any]:
    """What lists, searches and the figures answer (without their request ids)."""
    auth = {"Authorization": f"Bearer {secret}"}
    found = []
    for path in READS:
        response = engine.request("GET", path, headers=auth)
        assert response.status == 200, (path, response.json)
        found.append(response.json)
    return found


def opened(address: str) -> Engine:
    return Engine.open(address, clock=ManualClock(NOW))


@pytest.fixture
def pg_address(postgres_url: str) -> Iterator[str]:
    """A new, empty schema of the test database, by its URL (dropped after)."""
    with new_schema(postgres_url) as schema:
        yield schema_address(postgres_url, schema)


# -- the round trip ---------------------------------------------------------------------


def test_a_file_copied_to_postgres_and_back_answers_exactly_as_before(
    source: dict[str, Any], pg_address: str, tmp_path: Path
) -> None:
    back = str(tmp_path / "back.db")
    steps: list[tuple[int, int]] = []
    there = copy_database(
        source["path"],
        pg_address,
        clock=ManualClock(NOW),
        progress=lambda *step: steps.append(step),
    )
    again = copy_database(pg_address, back, clock=ManualClock(NOW))

    assert there.identical, there.difference
    assert again.identical, again.difference
    assert there.source.digest == there.target.digest == again.target.digest
    assert there.source.counts == there.target.counts == again.target.counts
    counts = there.source.counts
    assert counts["tickets"] == TICKETS + 2
    assert (counts["keys"], counts["agents"], counts["policies"]) == (2, 2, 1)
    assert counts["idempotency_keys"] == 2  # an API key's and Python's
    assert steps == [(n, TICKETS + 2) for n in (50, 100, 150, 200, 242)]

    with opened(source["path"]) as a, opened(pg_address) as b, opened(back) as c:
        original = everything(a)
        assert len(original) == TICKETS + 2
        assert everything(b) == original
        assert everything(c) == original
        assert answers(b, source["live"]) == answers(a, source["live"])
        assert answers(c, source["live"]) == answers(a, source["live"])
        for copied in (b, c):
            report = copied.check()  # numbers, replay, tags, states, search, the counter
            assert report.clean, report.problems
            assert copied.keys.list() == a.keys.list()
            assert copied.agents.list() == a.agents.list()
            assert copied.sla.policy == a.sla.policy
            assert copied.sla.policy.name == "berlin-business-hours"
            behaves_as_the_source(copied, source)


def behaves_as_the_source(engine: Engine, source: dict[str, Any]) -> None:
    """Keys authenticate as before, a retried create answers its first ticket, and the
    next ticket and event follow the copied ones."""
    auth = {"Authorization": f"Bearer {source['live']}"}
    assert engine.request("GET", "/v1/tickets?per_page=1", headers=auth).status == 200
    revoked = {"Authorization": f"Bearer {source['revoked']}"}
    assert engine.request("GET", "/v1/tickets", headers=revoked).status == 401
    replay = engine.request(
        "POST", "/v1/tickets", headers={**auth, "Idempotency-Key": "retry-me"}, json=BODY
    )
    assert (replay.status, replay.json["data"]["id"]) == (201, source["replayed"])
    made = engine.request("POST", "/v1/tickets", headers=auth, json={**BODY, "subject": "New"})
    assert made.status == 201
    assert made.json["data"]["number"] == f"TICK-{TICKETS + 3}"
    events = engine.tickets.events(made.json["data"]["id"])
    last_before = engine.tickets.events(f"TICK-{TICKETS + 2}")[-1]
    assert events[0].id is not None
    assert last_before.id is not None
    assert events[0].id > last_before.id


def test_a_copy_between_two_files_is_identical_and_checks_clean(
    source: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "copy.db"
    summary = copy_database(source["path"], str(target), clock=ManualClock(NOW))
    assert summary.identical
    assert Engine.check_file(target).clean
    with opened(source["path"]) as a, opened(str(target)) as b:
        assert everything(b) == everything(a)
        assert answers(b, source["live"]) == answers(a, source["live"])


def test_a_source_written_during_the_copy_is_copied_as_it_was_when_the_copy_began(
    source: dict[str, Any], tmp_path: Path
) -> None:
    busy = str(tmp_path / "busy.db")
    copy_database(source["path"], busy)
    writer = opened(busy)
    writes = []

    def write_meanwhile(done: int, total: int) -> None:
        if not writes:  # after the first step: the tickets after it are yet to be read
            writes.append(writer.tickets.create(subject="Late", description="Meanwhile"))
            writer.tickets.update(f"TICK-{TICKETS}", subject="Changed meanwhile")

    summary = copy_database(busy, str(tmp_path / "t.db"), progress=write_meanwhile)
    writer.close()
    assert summary.identical, summary.difference
    assert summary.target.counts["tickets"] == TICKETS + 2  # not the one made meanwhile
    with opened(str(tmp_path / "t.db")) as copied:
        assert copied.tickets.get(f"TICK-{TICKETS}").subject.startswith("Drucker")
        assert copied.tickets.count() == TICKETS + 2


# -- refusals change nothing -------------------------------------------------------------


def test_a_target_holding_anything_is_refused_naming_what_it_holds(
    source: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "busy.db"
    with Engine.open(target) as engine:
        engine.agents.add("user_x", "X")
        before = table_counts(engine)
    with pytest.raises(CopyRefused, match=r"already holds data \(agents: 1\)"):
        copy_database(source["path"], str(target))
    with Engine.open(target) as engine:
        assert table_counts(engine) == before


def test_an_empty_ticket_database_is_a_target_and_another_applications_file_is_not(
    source: dict[str, Any], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    Engine.open(empty).close()
    assert copy_database(source["path"], str(empty)).identical
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.close()
    before = foreign.read_bytes()
    with pytest.raises(CopyRefused, match="another application"):
        copy_database(source["path"], str(foreign))
    assert foreign.read_bytes() == before


def test_a_postgres_target_holding_anything_is_refused(
    source: dict[str, Any], pg_address: str
) -> None:
    with opened(pg_address) as engine:
        engine.keys.create(scopes=["tickets:read"])
        before = table_counts(engine)
    with pytest.raises(CopyRefused, match=r"already holds data \(keys: 1\)"):
        copy_database(source["path"], pg_address)
    with opened(pg_address) as engine:
        assert table_counts(engine) == before


def test_the_same_database_under_another_name_is_refused(
    source: dict[str, Any], tmp_path: Path
) -> None:
    alias = tmp_path / "alias.db"
    alias.symlink_to(source["path"])
    with pytest.raises(CopyRefused, match="is the source database itself"):
        copy_database(source["path"], str(alias))


def test_the_same_postgres_schema_is_refused(pg_address: str, source: dict[str, Any]) -> None:
    copy_database(source["path"], pg_address)
    with opened(pg_address) as engine:
        before = table_counts(engine)
    with pytest.raises(CopyRefused, match="is the source database itself"):
        copy_database(pg_address, pg_address)
    with opened(pg_address) as engine:
        assert table_counts(engine) == before


def test_a_missing_source_is_refused_and_nothing_is_made(tmp_path: Path) -> None:
    with pytest.raises(CopyRefused, match="does not exist"):
        copy_database(str(tmp_path / "nope.db"), str(tmp_path / "target.db"))
    assert list(tmp_path.iterdir()) == []


def test_a_source_that_holds_no_ticket_database_is_refused(tmp_path: Path, pg_address: str) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(CopyRefused, match="holds no ticket database"):
        copy_database(str(empty), str(tmp_path / "target.db"))
    assert empty.read_bytes() == b""
    with pytest.raises(CopyRefused, match="holds no ticket database"):
        copy_database(pg_address, str(tmp_path / "target.db"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_a_source_of_a_newer_release_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    with Engine.open(newer) as engine:
        engine.db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('ayra_tickets', '9999_from_the_future', '2099-01-01')"
        )
        engine.db.conn.commit()
    with pytest.raises(CopyRefused, match="newer release"):
        copy_database(str(newer), str(tmp_path / "target.db"))
    assert not (tmp_path / "target.db").exists()


# -- a copy that fails midway ------------------------------------------------------------


def failing_halfway(monkeypatch: pytest.MonkeyPatch, store: type) -> None:
    """Make the target's second step of tickets fail, as a full disk or a lost server
    would."""
    write = store.insert_stored
    calls = []

    def second_fails(self: Any, batch: Any) -> None:
        calls.append(len(batch))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        write(self, batch)

    monkeypatch.setattr(store, "insert_stored", second_fails)


def test_a_file_copy_stopped_midway_leaves_no_target_file(
    source: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ayra_tickets.storage.sqlite.tickets import TicketStore

    failing_halfway(monkeypatch, TicketStore)
    target = tmp_path / "target.db"
    with pytest.raises(OSError, match="No space left"):
        copy_database(source["path"], str(target))
    assert list(tmp_path.iterdir()) == []  # nor the file it was being written to


def test_a_postgres_copy_stopped_midway_commits_nothing(
    source: dict[str, Any], pg_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ayra_tickets.storage.postgres.tickets import TicketStore

    failing_halfway(monkeypatch, TicketStore)
    with pytest.raises(OSError, match="No space left"):
        copy_database(source["path"], pg_address)
    monkeypatch.undo()
    with opened(pg_address) as engine:
        counts = engine.storage.atomic(engine.storage.counts)
        assert set(counts.values()) == {0}
        assert engine.tickets.create(**BODY).number == 1
        assert engine.keys.list() == []


KILLED_MIDWAY = """
import os, signal, sys
from ayra_tickets import transfer
transfer.BATCH = 50

def killed(done, total):
    os.kill(os.getpid(), signal.SIGKILL)  # after the first step is written

transfer.copy_database(sys.argv[1], sys.argv[2], progress=killed)
"""


def killed_midway(source: str, target: str) -> None:
    """Copy in another process, killed (SIGKILL) once the first step is written."""
    done = subprocess.run([sys.executable, "-c", KILLED_MIDWAY, source, target], check=False)
    assert done.returncode == -signal.SIGKILL


def test_a_file_copy_killed_midway_leaves_no_target_file(
    source: dict[str, Any], tmp_path: Path
) -> None:
    killed_midway(source["path"], str(tmp_path / "target.db"))
    assert not (tmp_path / "target.db").exists()
    left = [path.name for path in tmp_path.iterdir()]
    assert all(name.startswith(".target.db.") and ".copying" in name for name in left)


def test_a_postgres_copy_killed_midway_commits_nothing(
    source: dict[str, Any], pg_address: str
) -> None:
    killed_midway(source["path"], pg_address)
    with opened(pg_address) as engine:
        assert set(engine.storage.atomic(engine.storage.counts).values()) == {0}


# -- the check ------------------------------------------------------------------------


def tamper(storage: Storage) -> None:
    """Change one event of the target beneath the API (a note of TICK-100)."""
    sql = (
        'UPDATE ticket_events SET data = \'{"note": "changed"}\' WHERE id = (SELECT max(id)'
        " FROM ticket_events WHERE type = 'note_added' AND ticket_number = 100)"
    )
    beneath: Any = storage
    if hasattr(beneath, "db"):  # a file
        beneath.db.execute(sql)
        beneath.db.conn.commit()
    else:
        beneath.atomic(lambda: beneath.connections.conn.execute(sql), write=True)


def test_the_check_names_the_first_difference(source: dict[str, Any], tmp_path: Path) -> None:
    summary = copy_database(source["path"], str(tmp_path / "t.db"), before_check=tamper)
    assert not summary.identical
    assert summary.source.digest != summary.target.digest
    assert summary.source.counts == summary.target.counts
    assert summary.difference is not None
    assert summary.difference.startswith("event evt_")
    assert "of TICK-100 differs" in summary.difference


def test_the_check_sees_a_difference_on_postgres_too(
    source: dict[str, Any], pg_address: str
) -> None:
    summary = copy_database(source["path"], pg_address, before_check=tamper)
    assert summary.difference is not None
    assert "of TICK-100 differs" in summary.difference


# -- the command ------------------------------------------------------------------------


def test_the_command_prints_the_counts_and_the_digests(
    source: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "t.db"
    result = CliRunner().invoke(main, ["copy", source["path"], str(target)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "identical"
    assert ["tickets", str(TICKETS + 2), str(TICKETS + 2)] in [line.split() for line in lines]
    again = CliRunner().invoke(main, ["copy", "--json", source["path"], str(tmp_path / "u.db")])
    summary = json.loads(again.stdout)
    assert summary["identical"] is True
    assert summary["difference"] is None
    assert summary["source"]["digest"] == summary["target"]["digest"]


def test_the_command_exits_1_naming_a_difference(
    source: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        transfer, "copy_database", functools.partial(copy_database, before_check=tamper)
    )
    result = CliRunner().invoke(main, ["copy", source["path"], str(tmp_path / "t.db")])
    assert result.exit_code == 1
    assert "different: event evt_" in result.stdout


def test_the_command_never_shows_a_password(source: dict[str, Any], pg_address: str) -> None:
    password = urlsplit(pg_address).password
    runner = CliRunner()
    done = runner.invoke(main, ["copy", source["path"], pg_address])
    refused = runner.invoke(main, ["copy", source["path"], pg_address])
    assert (done.exit_code, refused.exit_code) == (0, 1)
    assert redacted(pg_address) in done.output
    assert "already holds data" in refused.output
    for result in (done, refused):
        assert not password or f":{password}@" not in result.output


def test_a_refusal_is_one_sentence_and_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["copy", str(tmp_path / "nope.db"), str(tmp_path / "t.db")])
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert "Traceback" not in result.output
