"""The benchmark's ORM peer does its work honestly: every ticket and change is written
(one event each), versions rise, lists filter and count right, the three indexes exist
and serve the lists they are for, and the file runs in WAL with ``synchronous=NORMAL``.

No timing is asserted here; the benchmark prints the figures.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from ayra_tickets import ManualClock
from benchmarks.orm_peer import OrmPeer, TicketClosed, TicketNotFound, build_read_store

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
INDEXES = {
    "ix_tickets_status_created_at": ["status", "created_at"],
    "ix_tickets_assigned_to_created_at": ["assigned_to", "created_at"],
    "ix_tickets_created_at": ["created_at"],
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def peer(tmp_path: Path, clock: ManualClock) -> Iterator[OrmPeer]:
    with OrmPeer(tmp_path / "peer.db", clock=clock.now) as opened:
        yield opened


def rows(peer: OrmPeer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Read the peer's file beside it, as sqlite3 sees it."""
    with sqlite3.connect(peer.path) as conn:
        return conn.execute(sql, args).fetchall()


def events_of(peer: OrmPeer, ticket_id: str) -> list[str]:
    found = rows(peer, "SELECT type FROM ticket_events WHERE ticket_id = ? ORDER BY id", ticket_id)
    return [kind for (kind,) in found]


def body(**fields: Any) -> dict[str, Any]:
    return {"subject": "Printer out of ink", "description": "The printer says no ink", **fields}


def test_a_create_writes_one_ticket_row_and_exactly_one_event(peer: OrmPeer) -> None:
    ticket = peer.create(body(priority=2, status="open", tags=["ink"], assigned_to="user_1"))

    assert rows(peer, "SELECT id, number, version, status FROM tickets") == [
        (ticket["id"], 1, 1, "open")
    ]
    assert events_of(peer, ticket["id"]) == ["created"]
    assert ticket["number"] == "TICK-1"
    assert ticket["tags"] == ["ink"]
    assert ticket["first_response_at"] == ticket["created_at"] == "2025-01-15T09:00:00Z"
    assert ticket["sla"]["response_due_at"] == "2025-01-15T17:00:00Z"  # High: 8 hours
    assert peer.get(ticket["id"]) == ticket


def test_ticket_numbers_count_up_in_the_store(peer: OrmPeer) -> None:
    numbers = [peer.create(body())["number"] for _ in range(3)]
    assert numbers == ["TICK-1", "TICK-2", "TICK-3"]


def test_an_update_bumps_the_version_and_writes_one_event(
    peer: OrmPeer, clock: ManualClock
) -> None:
    ticket = peer.create(body())
    clock.advance(timedelta(hours=1))

    updated = peer.update(ticket["id"], {"status": "in_progress", "priority": 2, "tags": ["a"]})

    assert updated["version"] == 2
    assert updated["updated_at"] == "2025-01-15T10:00:00Z"
    assert updated["first_response_at"] == "2025-01-15T10:00:00Z"
    assert rows(peer, "SELECT version, status, priority FROM tickets") == [(2, "in_progress", 2)]
    assert events_of(peer, ticket["id"]) == ["created", "updated"]
    (payload,) = rows(peer, "SELECT payload FROM ticket_events WHERE type = 'updated'")
    assert '"priority": [3, 2]' in payload[0]


def test_an_update_that_changes_nothing_writes_nothing(peer: OrmPeer) -> None:
    ticket = peer.create(body(priority=2))

    again = peer.update(ticket["id"], {"priority": 2})

    assert again["version"] == 1
    assert events_of(peer, ticket["id"]) == ["created"]


def test_a_close_sets_the_status_and_closed_at_with_one_event(
    peer: OrmPeer, clock: ManualClock
) -> None:
    ticket = peer.create(body())
    clock.advance(timedelta(hours=2))

    closed = peer.close(ticket["id"], {"resolution_note": "Refilled", "customer_satisfaction": 9})

    assert closed["status"] == "closed"
    assert closed["closed_at"] == closed["resolved_at"] == "2025-01-15T11:00:00Z"
    assert closed["version"] == 2
    assert closed["customer_satisfaction"] == 9
    assert rows(peer, "SELECT status, closed_at IS NOT NULL, version FROM tickets") == [
        ("closed", 1, 2)
    ]
    assert events_of(peer, ticket["id"]) == ["created", "closed"]
    with pytest.raises(TicketClosed):
        peer.close(ticket["id"])
    with pytest.raises(TicketClosed):
        peer.update(ticket["id"], {"priority": 1})
    assert events_of(peer, ticket["id"]) == ["created", "closed"]


def test_an_unknown_ticket_is_not_found(peer: OrmPeer) -> None:
    with pytest.raises(TicketNotFound):
        peer.get("ticket_nope")


def test_lists_filter_count_and_page(peer: OrmPeer, clock: ManualClock) -> None:
    made = []
    for n in range(12):
        made.append(
            peer.create(
                body(
                    subject=f"Invoice {n}" if n % 3 == 0 else f"Login {n}",
                    status=("new", "open", "in_progress")[n % 3],
                    priority=1 + n % 4,
                    assigned_to=f"user_{n % 2}",
                    category="billing" if n < 4 else "technical",
                    tags=["refund", "VIP"] if n % 4 == 0 else ["refund"] if n % 2 else [],
                )
            )
        )
        clock.advance(timedelta(minutes=10))
    clock.advance(timedelta(hours=3))  # 14:00

    def numbers(filters: dict[str, Any], **paging: int) -> tuple[list[int], int]:
        page, total = peer.list(filters, **paging)
        return [int(t["number"].removeprefix("TICK-")) for t in page], total

    assert numbers({}) == (list(range(12, 0, -1)), 12)
    assert numbers({}, page=2, per_page=5) == ([7, 6, 5, 4, 3], 12)
    assert numbers({"status": "open"}) == ([11, 8, 5, 2], 4)
    assert numbers({"status": "new,open"})[1] == 8
    assert numbers({"status": "open", "priority": 2}) == ([2], 1)
    assert numbers({"assigned_to": "user_1", "category": "billing"}) == ([4, 2], 2)
    assert numbers({"tags": "refund"}) == ([12, 10, 9, 8, 6, 5, 4, 2, 1], 9)
    assert numbers({"tags": "refund,VIP"}) == ([9, 5, 1], 3)
    assert numbers({"tags": "vip"}) == ([], 0)  # tags are exact, case included
    assert numbers({"search": "invoice"}) == ([10, 7, 4, 1], 4)
    assert numbers({"search": "no such words"}) == ([], 0)
    created = {"created_after": "2025-01-15T09:20:00Z", "created_before": "2025-01-15T09:50:00Z"}
    assert numbers(created) == ([5, 4, 3], 3)
    # of the Critical tickets (1 hour to answer, 4 to resolve), 1 was never answered and 5
    # (created at 09:40, answered) is past its resolution; 9 (10:20) is not yet
    assert numbers({"sla_breach": True}) == ([5, 1], 2)
    assert numbers({"sla_breach": False})[1] == 10
    assert numbers({"sort_by": "priority", "sort_order": "asc"}, per_page=3) == ([1, 5, 9], 12)


def test_a_bulk_insert_stores_every_ticket_with_one_event_each(
    peer: OrmPeer, clock: ManualClock
) -> None:
    peer.create(body())

    inserted = peer.bulk_insert([body(subject=f"Bulk {n}", tags=["x"]) for n in range(25)], 10)

    assert inserted == 25
    assert rows(peer, "SELECT count(*), min(number), max(number), max(version) FROM tickets") == [
        (26, 1, 26, 1)
    ]
    assert rows(peer, "SELECT type, count(*) FROM ticket_events GROUP BY type") == [("created", 26)]
    assert peer.list({"tags": "x"})[1] == 25
    assert peer.bytes_per_ticket() > 0


def test_the_three_indexes_exist_beside_the_unique_id_and_no_other(peer: OrmPeer) -> None:
    indexes = {name: origin for _, name, _, origin, _ in rows(peer, "PRAGMA index_list(tickets)")}
    assert sorted(name for name, origin in indexes.items() if origin == "c") == sorted(INDEXES)
    for name, columns in INDEXES.items():
        assert [column for *_, column in rows(peer, f"PRAGMA index_info({name})")] == columns
    (unique,) = [name for name, origin in indexes.items() if origin != "c"]
    assert indexes[unique] == "u"
    assert [column for *_, column in rows(peer, f"PRAGMA index_info({unique})")] == ["id"]
    # the number is the rowid, so no index of its own; the events are only appended
    assert rows(peer, "PRAGMA index_list(ticket_events)") == []


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"status": "open"}, "ix_tickets_status_created_at"),
        ({"assigned_to": "user_3"}, "ix_tickets_assigned_to_created_at"),
        ({}, "ix_tickets_created_at"),
    ],
)
def test_each_index_serves_its_list(peer: OrmPeer, filters: dict[str, Any], index: str) -> None:
    peer.bulk_insert([body(status="open", assigned_to="user_3")] * 20)
    statements: list[tuple[str, Any]] = []

    @event.listens_for(peer.engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, sql: str, params: Any, *_: Any) -> None:
        statements.append((sql, params))

    peer.list(filters)
    page = next((sql, args) for sql, args in statements if "LIMIT" in sql)
    plan = " ".join(str(row[3]) for row in rows(peer, "EXPLAIN QUERY PLAN " + page[0], *page[1]))
    assert f"USING INDEX {index}" in plan


def test_the_file_is_in_wal_with_synchronous_normal(peer: OrmPeer) -> None:
    with peer.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_the_read_store_is_built_in_slices_with_a_sample_moved_on(tmp_path: Path) -> None:
    work = [body(status=("new", "open")[n % 2]) for n in range(200)]

    now = build_read_store(tmp_path / "read.db", work, START, slices=4)

    assert now == START + timedelta(hours=8, days=1)
    with OrmPeer(tmp_path / "read.db", clock=lambda: now) as peer:
        assert peer.list({})[1] == 200
        assert peer.list({"created_after": "2025-01-15T15:00:00Z"})[1] == 50
        moved = peer.list({"status": "waiting_on_customer,resolved,closed"})[1]
        assert moved == 10  # a tenth of the 100 open tickets
