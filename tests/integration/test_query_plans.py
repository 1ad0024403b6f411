"""Every documented filter and sort, alone and in the combinations people use, is
answered from an index: a change that falls back to a full scan of the tickets, or to
sorting a large match in a temporary B-tree, fails here."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain.times import utc_seconds
from ayra_tickets.domain.validation import validate_list
from tests.conftest import START

QUERIES: list[dict[str, Any]] = [
    {"status": "open"},
    {"priority": 2},
    {"assigned_to": "user_1"},
    {"contact_id": "contact_1"},
    {"category": "billing"},
    {"status": "open", "priority": 2},
    {"status": "open", "assigned_to": "user_1"},
    {"status": "open", "priority": 2, "assigned_to": "user_1"},
    {"sla_breach": True},
    {"sla_breach": True, "status": "open"},
    {"tags": "refund"},
    {"tags": "refund,urgent"},
    {"created_after": "2025-01-20T00:00:00Z", "created_before": "2025-01-21T00:00:00Z"},
    {"due_after": "2025-02-01T00:00:00Z", "due_before": "2025-02-02T00:00:00Z"},
    {"search": "printer"},
    {"search": "printer", "status": "open"},
    {"status": "open", "priority": 2, "sort_by": "due_date", "sort_order": "asc"},
]
ORDERS: list[dict[str, Any]] = [
    {},
    {"sort_by": "updated_at"},
    {"sort_by": "priority"},
    {"sort_by": "due_date", "sort_order": "asc"},
    {"status": "open"},
    {"priority": 3},
    {"assigned_to": "user_1"},
    {"category": "billing"},
    {"contact_id": "contact_1"},
    {"status": "open", "priority": 2},
    {"status": "open", "sort_by": "due_date", "sort_order": "asc"},
    # many matches and no index in the page's order for the filter: the order's index
    # is walked and each ticket checked
    {"tags": "refund"},
    {"tags": "refund", "status": "open"},
    {"category": "billing", "sort_by": "priority"},
    {"assigned_to": "user_1", "sort_by": "updated_at"},
    {"priority": 3, "sort_by": "due_date", "sort_order": "asc"},
    # a search in creation order reads the search index newest (or oldest) first
    {"search": "printer"},
    {"search": "printer", "sort_order": "asc"},
    {"search": "printer", "status": "open"},
]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """A few thousand tickets shaped like a real desk, imported in bulk."""
    rng = random.Random(4)
    clock = ManualClock(START)
    rows = []
    for i in range(3_000):
        rows.append(
            {
                "subject": rng.choice(["Printer jam", "Refund", "Login fails", "Slow export"]),
                "description": f"Ticket {i}: " + rng.choice(["printer", "invoice", "password"]),
                "priority": rng.choice([1, 2, 3, 3, 3, 4]),
                "status": rng.choice(["new", "open", "open", "in_progress"]),
                "category": rng.choice(["billing", "technical", "account", "bug"]),
                "assigned_to": f"user_{int(rng.paretovariate(1.3)) % 40}",
                "contact_id": f"contact_{rng.randint(0, 800)}",
                "tags": rng.sample(["refund", "urgent", "vip", "mobile", "api", "billing"], 2),
                **({"due_date": f"2025-02-{rng.randint(1, 28):02d}T12:00:00Z"} if i % 2 else {}),
            }
        )
    with Engine.open(":memory:", clock=clock) as opened:
        for start in range(0, len(rows), 500):
            opened.tickets.import_many(rows[start : start + 500])
            clock.advance(days=1)
        opened.tickets.import_many(rows[:1_000])  # a big import refreshes the statistics
        yield opened


def plans(engine: Engine, params: dict[str, Any]) -> dict[str, list[str]]:
    tickets: Any = engine.storage.tickets  # the SQLite repository, which can show its plans
    return tickets.plans(validate_list(params), utc_seconds(engine.clock.now()))


@pytest.mark.parametrize("params", QUERIES, ids=str)
def test_a_filtered_list_is_answered_from_indexes(engine: Engine, params: dict[str, Any]) -> None:
    found = plans(engine, params)
    # Counting reads only the matching index entries.
    full = [s for s in found["count"] if s.startswith("SCAN t") and "VIRTUAL TABLE" not in s]
    assert not full, found["count"]
    # A page may walk an index in its order and stop when the page is full, or, in
    # creation order (number order), the table itself along its key; it never reads the
    # table from end to end to sort what it found.
    walked_by_number = params.get("sort_by", "created_at") == "created_at" and not any(
        "TEMP B-TREE" in s for s in found["page"]
    )
    unindexed = [
        s
        for s in found["page"]
        if s.startswith("SCAN t")
        and "USING INDEX" not in s
        and "VIRTUAL TABLE" not in s
        and not (s == "SCAN t" and walked_by_number)
    ]
    assert not unindexed, found["page"]


@pytest.mark.parametrize("params", ORDERS, ids=str)
def test_a_first_page_is_read_in_index_order_without_sorting(
    engine: Engine, params: dict[str, Any]
) -> None:
    page = plans(engine, params)["page"]
    assert not any("TEMP B-TREE" in step for step in page), page


def test_a_rare_tag_is_read_from_its_index_and_a_common_one_along_the_order(
    engine: Engine,
) -> None:
    clock = engine.clock
    rare = [
        engine.tickets.create(subject=f"Rare {i}", description="x", tags=["rare", "vip"])
        for i in range(3)
    ]
    clock.advance(minutes=1)  # type: ignore[attr-defined]
    found = plans(engine, {"tags": "rare"})
    (count,) = found["count"]  # the tag's own index entries, nothing else
    assert count.startswith("SEARCH ticket_tags USING"), count
    assert count.endswith("(tag=?)"), count
    assert any("SEARCH ticket_tags USING" in s and "(tag=?)" in s for s in found["page"])
    common = plans(engine, {"tags": "vip"})["page"]
    # each ticket's tag looked up in the tags' own order (ticket, tag)
    assert any("(ticket_number=? AND tag=?)" in step for step in common), common
    assert not any("TEMP B-TREE" in step for step in common), common

    # Either way, the same tickets in the same order as a plain filter of everything.
    for params in ({"tags": "rare"}, {"tags": "vip"}, {"tags": "vip", "sort_by": "priority"}):
        pages = engine.tickets.list(per_page=100, **params)
        expected = sorted(
            (t for t in engine.tickets.export() if params["tags"] in t["tags"]),
            key=lambda t: (
                (-t["priority"], -int(t["number"][5:]))
                if params.get("sort_by") == "priority"
                else (t["created_at"], int(t["number"][5:]))
            ),
            reverse=params.get("sort_by") != "priority",
        )
        assert pages.meta["total"] == len(expected)
        assert [t.id for t in pages.data] == [t["id"] for t in expected[:100]]
    assert [t.id for t in engine.tickets.list(tags="rare").data] == [t.id for t in rare[::-1]]


def test_a_tag_and_a_status_are_counted_from_one_index_that_follows_status_changes(
    engine: Engine,
) -> None:
    count = plans(engine, {"tags": "refund", "status": "open,new"})["count"]
    assert count == [
        "SEARCH ticket_tags USING COVERING INDEX ticket_tags_by_tag_status (tag=? AND status=?)"
    ]

    def total(status: str) -> int:
        return engine.tickets.list(tags="refund", status=status, per_page=1).meta["total"]

    def counted(status: str) -> int:
        return sum(t["status"] == status for t in engine.tickets.export(tags="refund"))

    moved = engine.tickets.list(tags="refund", status="open", per_page=3).data
    for ticket in moved:
        engine.tickets.update(ticket.id, status="in_progress")
    engine.tickets.close(moved[0].id)
    engine.tickets.update(moved[1].id, tags=["urgent"])
    for status in ("open", "in_progress", "closed"):
        assert total(status) == counted(status)
    assert total("closed") >= 1


def test_a_search_with_few_matches_and_one_with_many_list_the_same_as_a_plain_filter(
    engine: Engine,
) -> None:
    everything = list(engine.tickets.export())
    contact = max(
        {t["contact_id"] for t in everything},
        key=lambda c: sum(t["contact_id"] == c for t in everything),
    )
    for params in (
        {"search": "printer", "contact_id": contact},  # few: gathered and sorted
        {"search": "printer", "status": "open"},  # many: read from the index in order
        {"search": "printer", "status": "open", "sort_order": "asc"},
    ):
        search = params["search"]
        others = {k: v for k, v in params.items() if k not in ("search", "sort_order")}
        expected = [
            t["id"]
            for t in everything
            if search in (t["subject"] + " " + t["description"]).lower()
            and all(t[k] == v for k, v in others.items())
        ]
        if params.get("sort_order") != "asc":
            expected.reverse()
        first = engine.tickets.list(per_page=100, **params)
        assert first.meta["total"] == len(expected)
        assert [t.id for t in first.data] == expected[:100]
        walked, page = [], engine.tickets.list(per_page=7, **params)
        while True:
            walked += [t.id for t in page.data]
            if page.meta["next_cursor"] is None:
                break
            page = engine.tickets.list(per_page=7, cursor=page.meta["next_cursor"], **params)
        assert walked == expected


def test_a_status_few_tickets_have_is_gathered_and_sorted_not_looked_for_along_an_order(
    engine: Engine,
) -> None:
    # No index holds a status in due order: many tickets of a status are read along the
    # due order's index, a few are looked up by their status and sorted (a walk along
    # the order would read every ticket to find none).
    for params in (
        {"status": "waiting_on_third_party", "sort_by": "due_date", "sort_order": "asc"},
        {"status": "reopened", "sort_by": "updated_at"},
    ):
        page = plans(engine, params)["page"]
        assert page[0].startswith("SEARCH t USING INDEX tickets_by_status"), page
        assert page[0].endswith("(status=?)"), page
        assert not any(step.startswith("SCAN t") for step in page), page
    common = plans(engine, {"status": "open", "sort_by": "due_date", "sort_order": "asc"})
    assert common["page"][0] == "SCAN t USING INDEX tickets_by_due_order", common["page"]


OWN_INDEX = [*ORDERS[1:10], {"status": "open", "assigned_to": "user_1"}]
"""The orders, filters and pairs of filters above that have an index of their own."""


@pytest.mark.parametrize("params", OWN_INDEX, ids=str)
def test_a_filter_or_an_order_with_an_index_of_its_own_reads_it_in_order(
    engine: Engine, params: dict[str, Any]
) -> None:
    # Each has an index in the page's order (creation order is number order, which
    # every index ends in): the first page is read from it, neither walked along the
    # table nor sorted.
    page = plans(engine, params)["page"]
    assert page[0].startswith(("SEARCH t USING INDEX", "SCAN t USING INDEX")), page
    assert not any("TEMP B-TREE" in step for step in page), page
