"""The SQLite file: persistence, sharing, schema, migrations, and all-or-nothing calls."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.storage.sqlite.schema import known_migrations, migrations
from ayra_tickets.storage.sqlite.tickets import TicketStore
from tests.conftest import START, table_counts


def test_tickets_survive_closing_and_reopening_the_engine(db_path: str, clock: ManualClock) -> None:
    with Engine.open(db_path, clock=clock) as engine:
        engine.agents.add("u_jane", "Jane Smith")
        created = engine.tickets.create(
            subject="Refund", description="Charged twice", priority=2, assigned_to="u_jane",
            tags=["refund", "billing"], custom_fields={"order": 12345},
        )  # fmt: skip
        clock.advance(hours=1)
        engine.tickets.update(created.id, status="in_progress", internal_note="Called them")
        before = engine.tickets.get(created.id).to_dict()
        history = [e.to_dict() for e in engine.tickets.events(created.id)]
    with Engine.open(db_path, clock=clock) as engine:
        assert engine.tickets.get(created.id).to_dict() == before
        assert [e.to_dict() for e in engine.tickets.events(created.id)] == history
        assert before["assigned_name"] == "Jane Smith"
        assert engine.tickets.create(subject="Next", description="one").number == 2


def test_a_second_engine_on_the_same_file_sees_the_first_ones_writes(
    db_path: str, clock: ManualClock
) -> None:
    with Engine.open(db_path, clock=clock) as first, Engine.open(db_path, clock=clock) as second:
        made = first.tickets.create(subject="Shared", description="file")
        assert second.tickets.get(made.id).subject == "Shared"
        second.tickets.update(made.id, subject="Changed by the second")
        assert first.tickets.get(made.id).subject == "Changed by the second"
        assert second.tickets.create(subject="b", description="b").number == 2
        assert first.tickets.list().meta["total"] == 2


def test_a_file_database_uses_wal(engine: Engine) -> None:
    assert engine.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_schema_is_created_by_numbered_migrations_applied_once(
    db_path: str, clock: ManualClock
) -> None:
    Engine.open(db_path, clock=clock).close()
    with Engine.open(db_path, clock=clock) as engine:
        applied = [m.name for m in migrations.applied(engine.db)]
    assert len(applied) == len(known_migrations())
    assert applied == sorted(applied)
    assert applied[0].startswith("0001_")


def test_the_tickets_table_reads_plainly_in_the_sqlite_shell(engine: Engine) -> None:
    engine.tickets.create(
        subject="Readable", description="row", tags=["a", "b"], due_date="2025-01-20T12:00:00Z"
    )
    conn = sqlite3.connect(engine.path)
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM tickets").fetchone()
    assert row["subject"] == "Readable"
    assert row["status"] == "new"
    assert row["tags"] == '["a","b"]'
    assert row["due_date"] == "2025-01-20T12:00:00Z"
    assert [tuple(r) for r in conn.execute("SELECT tag, ticket_number FROM ticket_tags")] == [
        ("a", 1),
        ("b", 1),
    ]
    conn.close()


def test_a_tag_filter_is_answered_from_the_tag_index(engine: Engine) -> None:
    plan = engine.db.conn.execute(
        "EXPLAIN QUERY PLAN SELECT 1 FROM ticket_tags g WHERE g.tag = ? AND g.ticket_number = ?",
        ("a", 1),
    ).fetchall()
    assert any("USING PRIMARY KEY" in step[-1] for step in plan), plan


def test_full_text_search_stays_in_step_with_edits(engine: Engine) -> None:
    made = engine.tickets.create(subject="Invoice missing", description="Where is it")
    assert engine.tickets.list(search="invoice").meta["total"] == 1
    engine.tickets.update(made.id, subject="Receipt missing")
    assert engine.tickets.list(search="invoice").meta["total"] == 0
    assert engine.tickets.list(search="receipt").meta["total"] == 1


def test_a_call_that_fails_halfway_leaves_no_trace_and_uses_no_number(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.tickets.create(subject="First", description="one")
    counts = table_counts(engine)

    def broken(self: TicketStore, number: int, events: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(TicketStore, "append_events", broken)
    with pytest.raises(RuntimeError):
        engine.tickets.create(subject="Second", description="two")
    monkeypatch.undo()
    assert table_counts(engine) == counts
    assert engine.tickets.create(subject="Third", description="three").number == 2


def test_the_tickets_table_has_the_field_tables_columns_in_its_order(engine: Engine) -> None:
    from ayra_tickets.storage.sqlite.rows import COLUMNS

    found = [row[1] for row in engine.db.execute("PRAGMA table_info(tickets)")]
    assert found == list(COLUMNS)


def test_a_save_is_a_versioned_update_that_refuses_a_ticket_changed_since_it_was_read(
    engine: Engine,
) -> None:
    from ayra_tickets.storage.errors import WriteConflict

    made = engine.tickets.create(subject="First", description="one")
    storage = engine.storage
    stale = storage.atomic(lambda: storage.tickets.get(made.id))
    engine.tickets.update(made.id, subject="Second")  # another writer, in between
    counts = table_counts(engine)
    changed = attrs.evolve(stale, subject="Third", version=stale.version + 1)
    with pytest.raises(WriteConflict):
        storage.atomic(lambda: storage.tickets.save(stale, changed, []), write=True)
    assert table_counts(engine) == counts
    assert engine.tickets.get(made.id).subject == "Second"


def test_an_in_memory_database_works_too(memory_engine: Engine) -> None:
    made = memory_engine.tickets.create(subject="Ephemeral", description="gone on close")
    assert memory_engine.tickets.get(made.id).number == 1


class SteppedClock:
    """A clock that can be stepped back, as a system clock can be."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def test_a_clock_that_steps_back_never_makes_a_tickets_history_run_backwards(
    db_path: str,
) -> None:
    clock = SteppedClock(datetime(2025, 1, 15, 17, 0, tzinfo=UTC))
    with Engine.open(db_path, clock=clock) as engine:
        made = engine.tickets.create(subject="From a clock ahead", description="demo day")
        clock.at = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
        moved = engine.tickets.update(made.id, status="open")
        assert moved.first_response_at == moved.updated_at == made.created_at
        closed = engine.tickets.close(made.id)
        assert closed.created_at <= closed.resolved_at == closed.closed_at
        times = [event.at for event in engine.tickets.events(made.id)]
        assert times == sorted(times)
        # Nor is a ticket created before the one numbered before it: creation times
        # follow numbers (newest first is highest number first), in bulk too.
        assert engine.tickets.create(subject="b", description="b").created_at == made.created_at
        engine.tickets.import_many([{"subject": "c", "description": "c"}])
        assert engine.tickets.list(per_page=1, sort_order="asc", page=3).data[0].created_at == (
            made.created_at
        )
        clock.at = datetime(2025, 1, 15, 18, 0, tzinfo=UTC)
        assert engine.tickets.create(subject="d", description="d").created_at == clock.at
        assert engine.db.conn.execute(
            "SELECT value FROM settings WHERE key = 'created_in_number_order'"
        ).fetchone() == ("1",)


def test_a_database_whose_old_tickets_break_creation_order_still_lists_searches_in_order(
    db_path: str, clock: ManualClock
) -> None:
    bodies = [{"subject": f"printer {i}", "description": "jam"} for i in range(4)]
    made_out_of_creation_order(db_path, clock, bodies, backdated=3)
    with Engine.open(db_path, clock=clock) as engine:
        assert not engine.storage.tickets.by_number
        newest = [t.subject for t in engine.tickets.list(search="printer").data]
        assert newest == ["printer 3", "printer 1", "printer 0", "printer 2"]
        assert walked_subjects(engine, search="printer", per_page=1) == newest


def made_out_of_creation_order(
    db_path: str, clock: ManualClock, bodies: list[dict[str, Any]], backdated: int
) -> None:
    """Tickets created an hour apart, then the one numbered ``backdated`` moved to before
    them all, as a release before schema 7 could have written them."""
    from sqlite_utils import Database

    with Engine.open(db_path, clock=clock) as engine:
        for body in bodies:
            engine.tickets.create(**body)
            clock.advance(hours=1)
    old = Database(db_path)
    old.execute(
        "UPDATE tickets SET created_at = '2025-01-01T00:00:00Z' WHERE number = ?", (backdated,)
    )
    old.execute("DELETE FROM settings WHERE key = 'created_in_number_order'")
    old.execute("DELETE FROM _sqlite_migrations WHERE name = '0007_created_in_number_order'")
    old.conn.commit()
    old.close()


def walked_subjects(engine: Engine, **params: Any) -> list[str]:
    """The subjects of every page of a list, read by cursor."""
    walked, page = [], engine.tickets.list(**params)
    while True:
        walked += [t.subject for t in page.data]
        if page.meta["next_cursor"] is None:
            return walked
        page = engine.tickets.list(cursor=page.meta["next_cursor"], **params)


def test_a_database_whose_old_tickets_break_creation_order_lists_by_creation_time(
    db_path: str, clock: ManualClock
) -> None:
    # Where creation times follow numbers, pages in creation order are read in number
    # order; where they do not, by the creation time itself, filtered or not, by page
    # and by cursor.
    bodies = [{"subject": f"t{i}", "description": "x", "priority": 2 + i % 2} for i in range(6)]
    made_out_of_creation_order(db_path, clock, bodies, backdated=6)
    with Engine.open(db_path, clock=clock) as engine:
        assert not engine.storage.tickets.by_number
        for filters, expected in (
            ({}, ["t5", "t0", "t1", "t2", "t3", "t4"]),
            ({"priority": 3}, ["t5", "t1", "t3"]),
        ):
            for order in ("asc", "desc"):
                wanted = expected if order == "asc" else expected[::-1]
                listed = engine.tickets.list(sort_order=order, per_page=50, **filters).data
                assert [t.subject for t in listed] == wanted
                assert walked_subjects(engine, sort_order=order, per_page=2, **filters) == wanted


def test_a_database_from_the_first_schema_opens_and_upgrades_in_place(
    db_path: str, clock: ManualClock
) -> None:
    from sqlite_utils import Database

    from ayra_tickets.domain.sla import DEFAULT_POLICY
    from ayra_tickets.domain.ticket import create as build
    from ayra_tickets.storage.sqlite.rows import COLUMNS, ticket_to_row

    old = Database(db_path)
    migrations.apply(old, stop_before="0002_sla_policies")
    assert "sla_policies" not in old.table_names()
    on_time, _ = build(
        "ticket_" + "a" * 16, 1, {"subject": "s", "description": "d"}, START, DEFAULT_POLICY
    )
    late = attrs.evolve(on_time, id="ticket_" + "b" * 16, number=2)
    late = attrs.evolve(late, clock=attrs.evolve(late.clock, resolution_met=False))
    columns = COLUMNS[
        :-2
    ]  # the first schema had neither sla_resolution_missed_at nor sla_breach_at
    for ticket in (on_time, late):
        old.execute(
            f"INSERT INTO tickets ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            ticket_to_row(ticket)[:-2],
        )
    old.close()

    with Engine.open(db_path, clock=clock) as engine:
        assert len(migrations.applied(engine.db)) == len(known_migrations())
        assert engine.tickets.get(on_time.id).subject == "s"
        rows = engine.db.conn.execute(
            "SELECT number, sla_resolution_missed_at, sla_breach_at FROM tickets"
        ).fetchall()
        # Both were created at 09:00: the response is due at 09:00 two days on, and the
        # late one's resolution (due five days on) is a miss from a second after it.
        assert rows == [
            (1, None, "2025-01-17T09:00:01Z"),
            (2, "2025-01-20T09:00:01Z", "2025-01-17T09:00:01Z"),
        ]
        assert engine.tickets.create(subject="new", description="schema").number == 3


def test_a_configured_policy_survives_reopening_and_binds_only_new_tickets(
    db_path: str, clock: ManualClock
) -> None:
    from datetime import timedelta

    from ayra_tickets import BusinessCalendar, SlaPolicy

    with Engine.open(db_path, clock=clock) as engine:
        before = engine.tickets.create(subject="before", description="default policy")
        policy = SlaPolicy(
            targets={1: {"response": timedelta(minutes=30), "resolution": timedelta(hours=2)}},
            calendar=BusinessCalendar(timezone="Europe/Berlin", hours={"wed": "09:00-17:00"}),
            name="berlin",
        )
        engine.sla.configure(policy)
    with Engine.open(db_path, clock=clock) as engine:
        assert engine.sla.policy == policy
        assert set(engine.sla.policies) == {"default", "berlin"}
        after = engine.tickets.create(subject="after", description="berlin", priority=1)
        # Wednesday 10:00 in Berlin; 30 working minutes later is 10:30 Berlin, 09:30 UTC.
        assert after.to_dict()["sla"]["policy"] == "berlin"
        assert after.to_dict()["sla"]["response_due_at"] == "2025-01-15T09:30:00Z"
        # Two working hours: until 12:00 Berlin, 11:00 UTC.
        assert after.to_dict()["sla"]["resolution_due_at"] == "2025-01-15T11:00:00Z"
        kept = engine.tickets.get(before.id).to_dict()["sla"]
        assert kept["policy"] == "default"
        assert kept["response_due_at"] == "2025-01-17T09:00:00Z"


def test_a_second_engine_sees_a_policy_the_first_one_configured(
    db_path: str, clock: ManualClock
) -> None:
    from datetime import timedelta

    from ayra_tickets import SlaPolicy

    with Engine.open(db_path, clock=clock) as first, Engine.open(db_path, clock=clock) as second:
        second.tickets.create(subject="warm", description="the cache")
        first.sla.configure(
            SlaPolicy(
                targets={3: {"response": timedelta(hours=1), "resolution": timedelta(hours=3)}},
                name="fast",
            )
        )
        made = second.tickets.create(subject="x", description="y")
        assert made.to_dict()["sla"]["policy"] == "fast"
        assert made.to_dict()["sla"]["response_due_at"] == "2025-01-15T10:00:00Z"


def test_events_written_before_schema_5_are_found_by_ticket_number_after_the_upgrade(
    db_path: str, clock: ManualClock
) -> None:
    from sqlite_utils import Database

    from ayra_tickets.domain.sla import DEFAULT_POLICY
    from ayra_tickets.domain.ticket import create as build
    from ayra_tickets.storage.sqlite.rows import COLUMNS, ticket_to_row

    old = Database(db_path)
    migrations.apply(old, stop_before="0005_events_by_ticket_number")
    made = []
    for number in (1, 2):
        ticket, events = build(
            f"ticket_{number:016d}", number, {"subject": "s", "description": "d"}, START,
            DEFAULT_POLICY,
        )  # fmt: skip
        old.execute(
            f"INSERT INTO tickets ({', '.join(COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in COLUMNS)})",
            ticket_to_row(ticket),
        )
        for event in events:  # as schema 4 wrote them: by ticket id only
            old.execute(
                "INSERT INTO ticket_events (ticket_id, version, type, data, created_at)"
                " VALUES (?, 1, ?, ?, '2025-01-15T09:00:00Z')",
                (ticket.id, event.type, json.dumps(event.data)),
            )
        made.append((ticket, [event.type for event in events]))
    old.close()

    with Engine.open(db_path, clock=clock) as engine:
        assert len(migrations.applied(engine.db)) == len(known_migrations())
        for ticket, kinds in made:
            assert [e.type for e in engine.tickets.events(ticket.id)] == kinds
            assert {e.ticket_id for e in engine.tickets.events(ticket.id)} == {ticket.id}
        keys = engine.db.table("ticket_events").foreign_keys
        assert [(k.column, k.other_table, k.other_column) for k in keys] == [
            ("ticket_number", "tickets", "number")
        ]
        plan = engine.db.conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM ticket_events WHERE ticket_number = 1 ORDER BY id"
        ).fetchall()
        assert "USING INDEX ticket_events_by_ticket" in plan[0][-1]
        later = engine.tickets.update(made[0][0].id, status="open")
        assert engine.tickets.events(later.id)[-1].version == 2
        assert engine.db.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_the_search_index_is_rebuilt_with_status_facets_by_schema_9(
    db_path: str, clock: ManualClock
) -> None:
    from sqlite_utils import Database

    from ayra_tickets.domain.sla import DEFAULT_POLICY
    from ayra_tickets.domain.ticket import create as build
    from ayra_tickets.storage.sqlite.rows import COLUMNS, ticket_to_row

    old = Database(db_path)
    migrations.apply(old, stop_before="0009_search_index_with_status_facets")
    for number, status in ((1, "open"), (2, "in_progress"), (3, "open")):
        ticket, _ = build(
            f"ticket_{number:016d}", number,
            {"subject": f"Printer {number}", "description": "jam", "status": status},
            START, DEFAULT_POLICY,
        )  # fmt: skip
        old.execute(
            f"INSERT INTO tickets ({', '.join(COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in COLUMNS)})",
            ticket_to_row(ticket),
        )
        old.execute(  # the schema-8 search index: text only
            "INSERT INTO tickets_fts (rowid, subject, description) VALUES (?, ?, ?)",
            (number, ticket.subject, ticket.description),
        )
    old.conn.commit()
    old.close()

    with Engine.open(db_path, clock=clock) as engine:
        assert len(migrations.applied(engine.db)) == len(known_migrations())
        page = engine.tickets.list(search="printer", status="open")
        assert (page.meta["total"], [t.number for t in page.data]) == (2, [3, 1])
        assert engine.tickets.list(search="jam", status="in_progress").meta["total"] == 1
        assert engine.tickets.list(search="printer").meta["total"] == 3
