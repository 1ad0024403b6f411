"""On PostgreSQL, every documented filter, sort and search, the count, the cursor pages,
a ticket by id and by number and a ticket's events are answered from the intended index:
a change that turns one of them into a sequential scan of the tickets, their tags or
their events, or into a sort of the whole table for a first page, fails here.

The statements are the adapter's own, as it runs them (``TicketStore.recording``), and
the server's plans come from ``EXPLAIN (FORMAT JSON)`` with their very parameters. The
desk is built once for the module, imported in daily chunks, then vacuumed and analysed:
with fewer rows than ``ANALYZE`` samples, its statistics are exact, so the planner's
choices are the same on every run. The selective filters name values few tickets have
(one status, one priority, one assignee, a rare tag, a rare word...): for those a
sequential scan would be a poor plan whatever the statistics said.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import attrs
import psycopg
import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain import paging
from tests.backends import new_schema, schema_address
from tests.conftest import START
from tests.postgres.conftest import connect

TICKETS = 4_000
DAYS = 40
TICKET_TABLES = {"tickets", "ticket_tags", "ticket_events"}
ORDERS = {
    ("created_at", "desc"): "tickets_by_created_at",
    ("created_at", "asc"): "tickets_by_created_at",
    ("updated_at", "desc"): "tickets_by_updated_at",
    ("updated_at", "asc"): "tickets_by_updated_at",
    ("priority", "desc"): "tickets_by_priority_number",
    ("priority", "asc"): "tickets_by_priority_number",
    ("due_date", "desc"): "tickets_by_due_date_down",
    ("due_date", "asc"): "tickets_by_due_date",
}
"""Each order of a page, and the index that gives it (a B-tree reads both ways)."""

WORDS = ["printer", "invoice", "password", "login", "export", "mobile", "crash", "email"]
SYLLABLES = ["ba", "do", "mi", "lu", "te", "ro", "sa", "ni", "po", "fe", "gu", "ha"]


def vocabulary(rng: random.Random) -> list[str]:
    """A desk's many other words (product names, error codes...): enough distinct ones
    that the planner keeps statistics of words, as on a real desk."""
    return sorted({"".join(rng.choices(SYLLABLES, k=3)) for _ in range(600)})


def desk_rows(rng: random.Random) -> list[dict[str, Any]]:
    """A desk's tickets: mostly common values, and a few rare ones that the selective
    filters below look for (about one ticket in a hundred or fewer)."""
    rows = []
    other = vocabulary(rng)
    for i in range(TICKETS):
        rare = i % 97 == 0
        rows.append(
            {
                "subject": rng.choice(["Printer jam", "Refund", "Login fails", "Slow export"]),
                "description": " ".join(rng.sample(WORDS, 3))
                + "".join(f" {other[int(rng.paretovariate(0.8)) % len(other)]}" for _ in range(4))
                + (" kerberos timeout" if i % 211 == 0 else "")
                + (" kerberos" if i % 149 == 0 else ""),
                "priority": 1 if i % 53 == 0 else rng.choice([2, 3, 3, 3, 4]),
                "status": "waiting_on_third_party"
                if rare
                else rng.choice(["new", "open", "open", "in_progress", "resolved", "closed"]),
                "category": f"category_{rng.randint(0, 39)}",
                "assigned_to": "user_rare"
                if i % 89 == 0
                else f"user_{int(rng.paretovariate(1.2)) % 20}",
                "contact_id": f"contact_{rng.randint(0, 1_999)}",
                "tags": [
                    *rng.sample(["refund", "urgent", "vip", "mobile", "api"], 2),
                    *(["rare"] if i % 101 == 0 else []),
                ],
                **({"due_date": f"2025-03-{rng.randint(1, 31):02d}T12:00:00Z"} if i % 2 else {}),
            }
        )
    return rows


@attrs.frozen
class Desk:
    """The engine on a schema of the desk's tickets, a connection to ask for plans, and
    the schema's address."""

    engine: Engine
    conn: psycopg.Connection[Any]
    address: str


@pytest.fixture(scope="module")
def desk(postgres_server: str) -> Iterator[Desk]:
    rows = desk_rows(random.Random(15))
    clock = ManualClock(START)
    per_day = TICKETS // DAYS
    with new_schema(postgres_server) as schema:
        address = schema_address(postgres_server, schema)
        with (
            Engine.open(address, clock=clock) as engine,
            connect(postgres_server, schema, autocommit=True) as conn,
        ):
            for start in range(0, TICKETS, per_day):
                engine.tickets.import_many(rows[start : start + per_day])
                clock.advance(days=1)
            conn.execute("VACUUM ANALYZE")
            yield Desk(engine, conn, address)


Statement = tuple[str, Sequence[Any]]


def statements(engine: Engine, call: Callable[[], object]) -> list[Statement]:
    """The statements the adapter runs for ``call``, with their parameters."""
    store: Any = engine.storage.tickets  # PostgreSQL's, which records what it runs
    with store.recording() as recorded:
        call()
    return list(recorded)


def plan(conn: psycopg.Connection[Any], statement: Statement) -> dict[str, Any]:
    sql, params = statement
    ((explained,),) = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchall()
    return explained[0]["Plan"]  # type: ignore[no-any-return]


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def seq_scans(node: dict[str, Any]) -> set[str]:
    """The ticket tables the plan reads from end to end."""
    return {
        n["Relation Name"]
        for n in nodes(node)
        if n["Node Type"] == "Seq Scan" and n["Relation Name"] in TICKET_TABLES
    }


def indexes(node: dict[str, Any], *, ranged: bool = False) -> set[str]:
    """The indexes the plan reads; with ``ranged``, only those it reads a range of (an
    index condition), not from end to end."""
    return {
        n["Index Name"]
        for n in nodes(node)
        if "Index Name" in n and (not ranged or "Index Cond" in n)
    }


def sorts(node: dict[str, Any]) -> list[str]:
    return [n["Node Type"] for n in nodes(node) if n["Node Type"].endswith("Sort")]


def shown(node: dict[str, Any]) -> str:
    return "; ".join(
        " ".join(str(n[k]) for k in ("Node Type", "Relation Name", "Index Name", "Index Cond")
                 if k in n)
        for n in nodes(node)
    )  # fmt: skip


def list_plans(desk: Desk, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plans of a first page's count and page."""
    engine, conn = desk.engine, desk.conn
    count, page = statements(engine, lambda: engine.tickets.list(**params))
    assert count[0].startswith("SELECT count(*)"), count[0]
    return plan(conn, count), plan(conn, page)


SELECTIVE = [
    ({"status": "waiting_on_third_party"}, "tickets_by_status", "tickets_by_status_created"),
    ({"status": "waiting_on_third_party,reopened"}, "tickets_by_status", None),
    ({"priority": 1}, "tickets_by_priority", "tickets_by_priority_created"),
    ({"category": "category_7"}, "tickets_by_category", "tickets_by_category_created"),
    ({"assigned_to": "user_rare"}, "tickets_by_assignee", "tickets_by_assignee_created"),
    ({"contact_id": "contact_42"}, "tickets_by_contact_created", None),
    ({"tags": "rare"}, "ticket_tags_", None),
    ({"tags": "rare,vip"}, "ticket_tags_", None),
    ({"created_after": "2025-01-20T00:00:00Z", "created_before": "2025-01-21T00:00:00Z"},
     "tickets_by_created_at", None),
    ({"due_after": "2025-03-05T00:00:00Z", "due_before": "2025-03-06T00:00:00Z"},
     "tickets_by_due_date", None),
    ({"search": "kerberos"}, "tickets_by_search", None),
    ({"search": "kerberos timeout"}, "tickets_by_search", None),
    ({"search": "kerb"}, "tickets_by_search", None),
    ({"status": "open", "priority": 1}, "tickets_by_status_priority_created", None),
    ({"status": "waiting_on_third_party", "sort_by": "due_date", "sort_order": "asc"},
     "tickets_by_status", "tickets_by_status_due_date"),
    ({"priority": 1, "sort_by": "priority"}, "tickets_by_priority", "tickets_by_priority_number"),
    ({"assigned_to": "user_rare", "status": "open"}, "tickets_by_assignee", None),
]  # fmt: skip
"""Filters that few tickets match; the index (by the start of its name) that finds them;
and for one value of a column, the index it leads in the page's order, which gives the
page without a sort (with ``= ANY`` instead of an equality, the planner would gather the
matches and sort them, or walk the order's own index checking each ticket)."""


@pytest.mark.parametrize(("params", "finds", "in_order"), SELECTIVE, ids=str)
def test_a_selective_filter_is_counted_and_paged_from_its_index(
    desk: Desk, params: dict[str, Any], finds: str, in_order: str | None
) -> None:
    count, page = list_plans(desk, params)
    for found in (count, page):
        assert not seq_scans(found), shown(found)
        assert any(name.startswith(finds) for name in indexes(found, ranged=True)), shown(found)
    if in_order is not None:
        assert in_order in indexes(page, ranged=True), shown(page)
        assert not sorts(page), shown(page)


COMMON = [
    {"status": "open"},
    {"status": "open,new"},
    {"priority": 3},
    {"tags": "vip"},
    {"search": "printer"},
    {"sla_breach": True},
    {"sla_breach": False},
    {"status": "open", "sla_breach": True},
    {"tags": "vip", "sort_by": "priority"},
    {"assigned_to": "user_1", "sort_by": "updated_at"},
    {"status": "open", "sort_by": "due_date", "sort_order": "asc"},
]
"""Filters that many tickets match."""


@pytest.mark.parametrize("params", COMMON, ids=str)
def test_a_first_page_of_many_matches_walks_an_index_and_stops(
    desk: Desk, params: dict[str, Any]
) -> None:
    # Counting many matches may read much of an index (or, without its visibility map,
    # the table): only the page is held to a walk.
    _, page = list_plans(desk, params)
    assert not seq_scans(page), shown(page)
    assert page["Node Type"] == "Limit", shown(page)
    assert indexes(page), shown(page)
    assert not sorts(page), shown(page)


def test_the_few_tickets_breached_at_a_moment_are_counted_from_the_breach_index(
    desk: Desk,
) -> None:
    # Read as of the desk's third day, when few tickets had missed a deadline yet.
    with Engine.open(desk.address, clock=ManualClock(START + timedelta(days=3))) as early:
        count, page = list_plans(Desk(early, desk.conn, desk.address), {"sla_breach": True})
        assert 0 < early.tickets.list(sla_breach=True).meta["total"] <= TICKETS * 0.02
    for found in (count, page):
        assert indexes(found, ranged=True) & {
            "tickets_by_sla_breach_at",
            "tickets_by_status_sla_breach_at",
        }, shown(found)
        assert not seq_scans(found), shown(found)


@pytest.mark.parametrize(("sort_by", "order"), list(ORDERS), ids=[f"{s} {o}" for s, o in ORDERS])
def test_a_first_page_in_each_order_reads_its_index_without_sorting(
    desk: Desk, sort_by: str, order: str
) -> None:
    _, page = list_plans(desk, {"sort_by": sort_by, "sort_order": order})
    assert ORDERS[sort_by, order] in indexes(page), shown(page)
    assert not sorts(page), shown(page)
    assert not seq_scans(page), shown(page)


def cursor_at(engine: Engine, params: dict[str, Any], position: int) -> str:
    """A cursor for the page after the ``position``-th ticket (from 0) of the list, as
    one a walk to there would have been given."""
    first = engine.tickets.list(**params, per_page=1)
    given = paging.decode(first.meta["next_cursor"])
    found = engine.tickets.list(**params, per_page=1, page=position + 1).data
    (ticket,) = found
    key = paging.sort_key(ticket, params.get("sort_by", "created_at"))
    return paging.encode(paging.Cursor(key, ticket.number, given.fingerprint))


@pytest.mark.parametrize(("sort_by", "order"), list(ORDERS), ids=[f"{s} {o}" for s, o in ORDERS])
@pytest.mark.parametrize("depth", ["shallow", "deep"])
def test_a_cursor_page_reads_a_range_of_its_orders_index_however_deep(
    desk: Desk, sort_by: str, order: str, depth: str
) -> None:
    engine, conn = desk.engine, desk.conn
    params = {"sort_by": sort_by, "sort_order": order}
    cursor = cursor_at(engine, params, 30 if depth == "shallow" else TICKETS // 3)
    ran = statements(engine, lambda: engine.tickets.list(**params, cursor=cursor))
    assert ran, "the page ran no statement"
    assert not any(sql.startswith("SELECT count(*)") for sql, _ in ran)  # no count
    first = plan(conn, ran[0])
    # The cursor's condition is the index's range, not a filter of every entry before.
    assert ORDERS[sort_by, order] in indexes(first, ranged=True), shown(first)
    assert not sorts(first), shown(first)
    assert not seq_scans(first), shown(first)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_cursor_pages_in_due_date_order_read_ranges_into_the_undated_tickets(
    desk: Desk, order: str
) -> None:
    engine, conn = desk.engine, desk.conn
    params = {"sort_by": "due_date", "sort_order": order}
    total = engine.tickets.list(**params, per_page=1).meta["total"]
    undated = engine.tickets.list(**params, per_page=1, page=total).data[0]
    assert undated.due_date is None
    dated_count = total - TICKETS // 2
    # The last dated page reads the dated range, then the undated range; a page among
    # the undated tickets reads the undated range alone.
    for position in (dated_count - 3, dated_count + 100, total - 40):
        cursor = cursor_at(engine, params, position)
        ran = statements(engine, lambda c=cursor: engine.tickets.list(**params, cursor=c))
        assert ran
        for statement in ran:
            found = plan(conn, statement)
            # The order's index; or, for the last few, their numbers (then sorted).
            assert indexes(found, ranged=True) & {
                "tickets_by_due_date",
                "tickets_by_due_date_down",
                "tickets_pkey",
            }, shown(found)
            assert not seq_scans(found), shown(found)
        assert "due_date IS NULL" in ran[-1][0]
    # The two ranges give the same tickets as pages by number.
    walked, page = [], engine.tickets.list(**params, per_page=100)
    while True:
        walked += [t.id for t in page.data]
        if page.meta["next_cursor"] is None:
            break
        page = engine.tickets.list(**params, per_page=100, cursor=page.meta["next_cursor"])
    numbered = [
        t.id
        for n in range(1, total // 100 + 2)
        for t in engine.tickets.list(**params, per_page=100, page=n).data
    ]
    assert walked == numbered
    assert len(walked) == TICKETS


def test_a_ticket_by_id_and_by_number_and_its_events_are_read_from_their_keys(
    desk: Desk,
) -> None:
    engine, conn = desk.engine, desk.conn
    ticket = engine.tickets.list(per_page=1, page=TICKETS // 2).data[0]
    expected = [
        ("tickets", "tickets_pkey"),  # TICK-n: by number
        ("tickets", "tickets_id_key"),  # ticket_...: by id (then the events by number)
        ("ticket_events", "ticket_events_by_ticket"),
    ]
    ran = statements(
        engine,
        lambda: (
            engine.tickets.get(ticket.number_label),
            engine.tickets.events(ticket.id),
        ),
    )
    assert len(ran) == len(expected), [sql for sql, _ in ran]
    for statement, (table, index) in zip(ran, expected, strict=True):
        found = plan(conn, statement)
        assert index in indexes(found, ranged=True), shown(found)
        assert not seq_scans(found), shown(found)
        scanned = {n.get("Relation Name") for n in nodes(found) if "Index Name" in n}
        assert table in scanned, shown(found)


def test_the_desk_has_the_shape_the_plans_assume(desk: Desk) -> None:
    """Selective values are rare and common ones common: otherwise the assertions above
    would test other plans than they mean to."""
    engine = desk.engine

    def share(**params: Any) -> float:
        total: int = engine.tickets.list(**params, per_page=1).meta["total"]
        return total / TICKETS

    for params, _, _ in SELECTIVE:
        assert 0 < share(**params) <= 0.04, params
    for params in COMMON:
        assert share(**params) >= 0.1, params
    assert engine.clock.now() == START + timedelta(days=DAYS)
