"""What the PostgreSQL adapter does so that lists stay fast at scale: an import leaves
the ticket tables analyzed and known visible to all (counts then read indexes alone), a
lone tag is counted from the tag rows and every ticket from the counter, with the totals
a count of the tickets would give."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain.validation import validate_list
from ayra_tickets.service import ANALYZE_AFTER
from ayra_tickets.storage.postgres.tickets import ANALYZED, COUNT_ALL, COUNT_TAG, COUNT_TAG_STATUS
from tests.backends import rows, schema_address
from tests.conftest import START


@pytest.fixture
def engine(postgres_url: str, pg_schema: str) -> Iterator[Engine]:
    with Engine.open(schema_address(postgres_url, pg_schema), clock=ManualClock(START)) as opened:
        yield opened


def bodies(count: int) -> list[dict[str, Any]]:
    return [
        {"subject": f"Ticket {n}", "description": "Imported", "tags": ["refund"] if n % 3 else []}
        for n in range(count)
    ]


def upkeep(engine: Engine) -> dict[str, tuple[int, int]]:
    """How many times each ticket table was vacuumed and analyzed (autovacuum's runs are
    counted apart)."""
    found = rows(
        engine,
        "SELECT relname, vacuum_count, analyze_count FROM pg_stat_user_tables"
        " WHERE schemaname = current_schema()",
    )
    return {name: (vacuums, analyzes) for name, vacuums, analyzes in found if name in ANALYZED}


def test_an_import_is_followed_by_a_vacuum_and_an_analyze_of_the_ticket_tables(
    engine: Engine,
) -> None:
    """The visibility map a vacuum sets lets a count read an index alone: rows just
    copied in would otherwise each be looked up in the table until autovacuum came."""
    engine.tickets.import_many(bodies(ANALYZE_AFTER))
    assert upkeep(engine) == dict.fromkeys(ANALYZED, (1, 1))


def test_a_small_import_leaves_the_upkeep_to_autovacuum(engine: Engine) -> None:
    engine.tickets.import_many(bodies(ANALYZE_AFTER - 1))
    assert upkeep(engine) == dict.fromkeys(ANALYZED, (0, 0))


def test_a_lone_tag_is_counted_from_the_tag_rows_with_the_status_they_carry(
    engine: Engine,
) -> None:
    engine.tickets.import_many(bodies(30))
    moved = [ticket.id for ticket in engine.tickets.list(tags="refund", per_page=5)]
    for ticket_id in moved:
        engine.tickets.update(ticket_id, status="open")
    engine.tickets.update(moved[0], tags=["other"])
    tickets: Any = engine.storage.tickets
    assert tickets.list_statements(validate_list({"tags": "refund"}), START)[0][0] == COUNT_TAG
    query = validate_list({"tags": "refund", "status": "open"})
    assert tickets.list_statements(query, START)[0][0] == COUNT_TAG_STATUS

    assert engine.tickets.list(tags="refund").meta["total"] == 19
    assert engine.tickets.list(tags="refund", status="open").meta["total"] == 4
    assert engine.tickets.list(tags="refund", status="new,open").meta["total"] == 19
    assert engine.tickets.list(tags="other", status="open").meta["total"] == 1
    assert engine.tickets.list(tags="refund", status="closed").meta["total"] == 0


def test_the_total_of_every_ticket_is_the_counters_through_creates_imports_and_a_reset(
    engine: Engine,
) -> None:
    tickets: Any = engine.storage.tickets
    assert tickets.list_statements(validate_list({}), START)[0][0] == COUNT_ALL
    assert engine.tickets.list().meta["total"] == 0
    engine.tickets.import_many([*bodies(3), {"subject": "refused: no description"}])
    engine.tickets.create(subject="One more", description="Made")
    assert engine.tickets.list().meta["total"] == 4 == engine.tickets.count()
    engine.reset()
    assert engine.tickets.list().meta["total"] == 0
    engine.tickets.create(subject="Again", description="From one")
    assert engine.tickets.list(per_page=1).meta == {
        "total": 1, "page": 1, "per_page": 1, "total_pages": 1, "next_cursor": None,
    }  # fmt: skip
